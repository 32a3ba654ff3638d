import { stat } from 'node:fs/promises';
import { ProviderError, UsageError } from '../errors.js';
import type { CommandSpec } from '../model/command.js';

/* From a command as the workflow gives it to the program and arguments that run, and the errors of a start that failed. */

export interface Invocation {
  file: string;
  args: string[];
  name: string;
}

/** Checks a spec without running it; returns the problem, or `undefined` when it can run. */
export function checkCommandSpec(spec: CommandSpec, name?: string): string | undefined {
  try {
    toInvocation(spec, name);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** A short, single-line description of a command for messages: `kubectl rollout status …`. */
export function describeCommand(spec: CommandSpec): string {
  const run = Array.isArray(spec) ? spec : spec.run;
  const text = Array.isArray(run) ? run.join(' ') : run;
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine;
}

export function toInvocation(spec: CommandSpec, name: string | undefined): Invocation {
  if (Array.isArray(spec)) {
    return argvInvocation(spec, name);
  }
  const { run, shell } = spec;
  if (Array.isArray(run)) {
    // An argv array runs without a shell even when `shell` is set: a shell would only add risk.
    return argvInvocation(run, name);
  }
  if (shell === true || shell === 'sh') {
    return { file: '/bin/sh', args: ['-c', run], name: name ?? 'sh' };
  }
  if (shell === 'bash') {
    return { file: 'bash', args: ['-c', run], name: name ?? 'bash' };
  }
  const label = name ?? run.trim().split(/\s+/)[0] ?? run;
  throw new UsageError(
    `command '${label}': script text needs \`shell: true\`, or give an argv array (such as ["${label}", "arg"]) so no value can be read as shell syntax`,
  );
}

function argvInvocation(argv: readonly string[], name: string | undefined): Invocation {
  const [file, ...args] = argv;
  if (!file) throw new UsageError(`command '${name ?? ''}': the argv array is empty; give the program first`);
  return { file, args, name: name ?? file };
}

export async function startError(
  invocation: Invocation,
  cwd: string,
  err: unknown,
): Promise<Error> {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const label = `command '${invocation.name}'`;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    const dirOk = await stat(cwd).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!dirOk) {
      return new ProviderError(`${label}: working directory ${cwd} does not exist; fix \`cwd\` (it is relative to the workflow file)`, {
        cause: err,
      });
    }
    const where = invocation.file.includes('/') ? `at ${invocation.file}` : 'on PATH';
    return new ProviderError(`${label} not found ${where}: install it on the runner or give its full path`, {
      cause: err,
    });
  }
  if (code === 'EACCES') {
    return new ProviderError(`${label}: ${invocation.file} is not executable (EACCES); check its permissions`, { cause: err });
  }
  return new ProviderError(`${label} could not start: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
