import { type ASTNode, Environment } from '@marcbachmann/cel-js';
import { RE2JS } from 're2js';

/**
 * Conditions (`when`, guards, success conditions) are CEL, evaluated by a maintained CEL
 * implementation: no eval, no Function, no prototype access. Numbers measured by probes are
 * doubles, so arithmetic on them takes double literals (`probes.cpu.value * 2.0`).
 *
 * Two things make evaluation safe to run beside signals and heartbeats. `matches` uses RE2
 * (linear time, as the CEL spec says) instead of JavaScript's backtracking RegExp, on which a
 * branch name against `^(a+)+$` takes seconds per character. And a condition is refused at
 * compile time when it is too long, too large, too deep, or its comprehensions would take too
 * many steps (CONDITION_LIMITS).
 */
export type Condition = (scope: Record<string, unknown>) => boolean;

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

/** What a condition may cost. Real conditions are a line or two; these are far above that. */
export const CONDITION_LIMITS = {
  /** Characters of the condition's text. */
  maxLength: 4096,
  /** Terms (names, literals, operators, calls). */
  maxAstNodes: 1000,
  /** Operators and calls inside each other. */
  maxDepth: 32,
  /** Items of one list literal. */
  maxListElements: 256,
  /** Entries of one map literal. */
  maxMapEntries: 256,
  /** Arguments of one call. */
  maxCallArguments: 8,
  /** Estimated evaluation steps, with each comprehension (all, exists, map…) multiplying its body. */
  maxSteps: 1_000_000,
} as const;

/** What a comprehension over a list that is not written out in the condition is assumed to hold. */
const UNKNOWN_SIZE = 1000;
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

const LIMIT_WORDS: Record<string, string> = {
  maxAstNodes: 'terms',
  maxDepth: 'levels of nesting',
  maxListElements: 'items in one list',
  maxMapEntries: 'entries in one map',
  maxCallArguments: 'arguments in one call',
};

const patterns = new Map<string, RE2JS>();

/** Compiles `pattern` as RE2, or throws saying why RE2 refuses it. Cached (bounded). */
function re2(pattern: string): RE2JS {
  let compiled = patterns.get(pattern);
  if (compiled) return compiled;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (err) {
    const detail = String((err as Error).message).replace(/^error parsing regexp: /, '');
    throw new Error(`matches(): '${pattern}' is not an RE2 regular expression (${detail}); RE2 has no backreferences or lookaround`);
  }
  if (patterns.size >= 500) patterns.clear();
  patterns.set(pattern, compiled);
  return compiled;
}

const stringish = (type: { name?: string }) => type.name === 'string' || type.name === 'dyn';

/*
 * cel-js's built-in `string.matches` runs JavaScript's RegExp, and a function cannot be declared
 * twice. A macro is expanded by name whatever its receiver (as `all` and `exists` are), so this
 * one takes over every `x.matches(p)`. It is declared on `list` only because a declaration on
 * `string` or `dyn` would clash with the built-in; its type check accepts strings only.
 */
const environment = new Environment({
  unlistedVariablesAreDyn: true,
  limits: {
    maxAstNodes: CONDITION_LIMITS.maxAstNodes,
    maxDepth: CONDITION_LIMITS.maxDepth,
    maxListElements: CONDITION_LIMITS.maxListElements,
    maxMapEntries: CONDITION_LIMITS.maxMapEntries,
    maxCallArguments: CONDITION_LIMITS.maxCallArguments,
  },
}).registerFunction('list.matches(ast): bool', ({ receiver, args }: { receiver: ASTNode; args: ASTNode[] }) => {
  const [pattern] = args as [ASTNode];
  // A pattern written in the condition is checked when the condition is compiled (validation).
  if (pattern.op === 'value' && typeof pattern.args === 'string') re2(pattern.args);
  return {
    async: false,
    typeCheck(checker: Checker, _macro: unknown, ctx: unknown) {
      const text = checker.check(receiver, ctx);
      const re = checker.check(pattern, ctx);
      if (!stringish(text) || !stringish(re)) {
        throw checker.createError('no_matching_overload', `found no matching overload for '${text.name}.matches(${re.name})'`, receiver);
      }
      return checker.getType('bool');
    },
    evaluate(evaluator: Evaluator, _macro: unknown, ctx: unknown) {
      const text = evaluator.run(receiver, ctx);
      const re = evaluator.run(pattern, ctx);
      if (typeof text !== 'string' || typeof re !== 'string') {
        throw new Error(`matches() takes a string and a pattern, got ${typeof text} and ${typeof re}`);
      }
      return re2(re).test(text);
    },
  };
});

interface CelType {
  name?: string;
}
interface Checker {
  check(node: ASTNode, ctx: unknown): CelType;
  getType(name: string): CelType;
  createError(code: string, message: string, node: ASTNode): Error;
}
interface Evaluator {
  run(node: ASTNode, ctx: unknown): unknown;
}

type Compiled = ReturnType<typeof environment.parse>;
const cache = new Map<string, Compiled>();

/** Parses once; throws `ExpressionError` for bad syntax, an invalid RE2 pattern, or a limit passed. */
export function compileCondition(text: string): Condition {
  let compiled = cache.get(text);
  if (!compiled) {
    compiled = parse(text);
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

function parse(text: string): Compiled {
  if (text.length > CONDITION_LIMITS.maxLength) {
    throw new ExpressionError(
      `condition '${text.slice(0, 40)}...' is ${text.length} characters long; the limit is ${CONDITION_LIMITS.maxLength}: split it into several checks`,
    );
  }
  let compiled: Compiled;
  try {
    compiled = environment.parse(text);
  } catch (err) {
    const limit = /^Exceeded (\w+) \((\d+)\)/.exec((err as { summary?: string }).summary ?? '');
    const reason = limit ? `it has more than ${limit[2]} ${LIMIT_WORDS[limit[1] as string] ?? limit[1]}; simplify it or split it into several checks` : firstLine(err);
    throw new ExpressionError(`cannot parse condition '${text}': ${reason}`);
  }
  const steps = cost(compiled.ast);
  if (steps > CONDITION_LIMITS.maxSteps) {
    throw new ExpressionError(
      `condition '${text}' could take about ${steps.toExponential(1)} steps to evaluate, more than the limit of ${CONDITION_LIMITS.maxSteps.toLocaleString('en-US')}: each comprehension (all, exists, map, filter) repeats its body for every item, so nest fewer of them`,
    );
  }
  return compiled;
}

/**
 * An upper estimate of the steps evaluation takes: one per term, and a comprehension's body once
 * per item of its list (its length when written out, else UNKNOWN_SIZE). Recursion is bounded by
 * maxDepth.
 */
function cost(node: ASTNode): number {
  const args = node.args as unknown;
  switch (node.op) {
    case 'value':
    case 'id':
      return 1;
    case 'rcall': {
      const [name, receiver, params] = args as [string, ASTNode, ASTNode[]];
      const body = params.reduce((sum, p) => sum + cost(p), 1);
      return cost(receiver) + (COMPREHENSIONS.has(name) ? sizeOf(receiver) * body : body);
    }
    case 'call':
      return (args as [string, ASTNode[]])[1].reduce((sum, p) => sum + cost(p), 1);
    case 'map':
      return (args as Array<[ASTNode, ASTNode]>).reduce((sum, [k, v]) => sum + cost(k) + cost(v), 1);
    case '.':
    case '.?':
      return 1 + cost((args as [ASTNode, string])[0]);
    default:
      return (Array.isArray(args) ? (args as ASTNode[]) : [args as ASTNode]).reduce((sum, p) => sum + cost(p), 1);
  }
}

function sizeOf(node: ASTNode): number {
  return node.op === 'list' || node.op === 'map' ? Math.max(1, (node.args as unknown[]).length) : UNKNOWN_SIZE;
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
