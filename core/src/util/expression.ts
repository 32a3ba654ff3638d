import { parse } from '@marcbachmann/cel-js';

/**
 * Conditions (`when`, guards, success conditions) are CEL, evaluated by a maintained CEL
 * implementation: no eval, no Function, no prototype access. Numbers measured by probes are
 * doubles, so arithmetic on them takes double literals (`probes.cpu.value * 2.0`).
 */
export type Condition = (scope: Record<string, unknown>) => boolean;

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

const cache = new Map<string, ReturnType<typeof parse>>();

/** Parses once; throws `ExpressionError` with the parser's message for bad syntax. */
export function compileCondition(text: string): Condition {
  let compiled = cache.get(text);
  if (!compiled) {
    try {
      compiled = parse(text);
    } catch (err) {
      throw new ExpressionError(`cannot parse condition '${text}': ${firstLine(err)}`);
    }
    cache.set(text, compiled);
  }
  const fn = compiled;
  return (scope) => {
    let result: unknown;
    try {
      result = fn(scope);
    } catch (err) {
      throw new ExpressionError(`condition '${text}' failed: ${firstLine(err)}`);
    }
    if (typeof result !== 'boolean') {
      throw new ExpressionError(`condition '${text}' gave ${typeof result} ${String(result)}, expected true or false`);
    }
    return result;
  };
}

/** Syntax check only, for validation: returns the error message or undefined. */
export function checkConditionSyntax(text: string): string | undefined {
  try {
    compileCondition(text);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Probe names a condition refers to as `probes.NAME`, for validation and for running only those. */
export function referencedProbes(text: string): string[] {
  return [...new Set([...text.matchAll(/\bprobes\.([A-Za-z_][\w]*)/g)].map((m) => m[1] as string))];
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0] ?? '';
}
