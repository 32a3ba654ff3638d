import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { CommandSpec } from '../model/command.js';
import { ProviderError, UsageError } from '../errors.js';
import { trackGroup } from './child-groups.js';
import { formatDuration } from './duration.js';
import { safeCut, type Masker } from './mask.js';

/**
 * Runs one user command. Safety rules:
 * - argv arrays (and `{ run: [...] }`) run without a shell, so no value can change what runs;
 * - script text runs only when the workflow says `shell: true | sh | bash`;
 * - workflow values reach commands only as environment variables, never spliced into text;
 * - everything streamed or captured goes through the caller's mask first.
 * Each command runs in its own process group so a timeout or a cancellation kills everything it
 * started (SIGTERM to the group, SIGKILL after a grace period).
 */

export type OutputStream = 'stdout' | 'stderr';

export interface RunCommandOptions {
  /** How messages name the command; default: the program (`kubectl`) or the shell (`sh`). */
  name?: string;
  /** The whole environment of the child (nothing is inherited); `spec.env` is laid over it. */
  env?: Record<string, string>;
  /**
   * Folder that a relative `spec.cwd` is resolved against (the workflow file's folder). Without
   * `spec.cwd` a command runs in rollgate's own working directory, like a CI `run:` step.
   */
  workDir?: string;
  /** Time limit when the spec has no `timeout`. No limit when both are absent. */
  timeoutMs?: number;
  /** Cancels the command: the process group is killed and the result says `cancelled`. */
  signal?: AbortSignal;
  /** Receives every line of output (masked) as it arrives. Must not throw. */
  onLine?: (stream: OutputStream, line: string) => void;
  /** Bytes of each stream kept in the result (the tail); default 1 MiB. All lines are still streamed. */
  outputLimit?: number;
  /**
   * Applied to every streamed line and to the captured text before anything is cut (the output
   * limit, the split of an over-long line), so a cut never leaves part of a secret. Default: identity.
   */
  mask?: Masker;
  /**
   * Called once the command has started, with its pid (which is also its process group id);
   * returns the function called when it has exited. The run journal records the group this way,
   * so a later `rollgate resume` can find a command that outlived a killed rollgate.
   */
  track?: (pgid: number) => () => void;
  /** Time between SIGTERM and SIGKILL; default 2000 ms. */
  killGraceMs?: number;
  /**
   * After the process exits, how long to wait for its output pipes to close (a background child
   * may hold them open) before the result is returned anyway; default 1000 ms.
   */
  closeGraceMs?: number;
}

export interface CommandResult {
  /** Exit code, or `null` when the process was killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Captured output (masked); the tail when more than `outputLimit` bytes were written. */
  stdout: string;
  stderr: string;
  /** Bytes dropped from the head of each stream when the output limit was reached. */
  stdoutDroppedBytes: number;
  stderrDroppedBytes: number;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  /** What happened, for messages: `exited with code 2`, `timed out after 10s`, `cancelled`, `killed by SIGKILL`. */
  reason: string;
}

export const DEFAULT_OUTPUT_LIMIT = 1_048_576;
const DEFAULT_KILL_GRACE_MS = 2000;
const DEFAULT_CLOSE_GRACE_MS = 1000;
/** A line longer than this without a newline is streamed in pieces of about this size. */
const MAX_LINE_CHARS = 1_048_576;
/**
 * What a piece of an over-long line keeps back for the next piece: a secret that has begun but
 * not ended yet lies within it, so it is masked whole once the rest arrives.
 */
const HOLD_BACK_CHARS = 65_536;

interface Invocation {
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

function toInvocation(spec: CommandSpec, name: string | undefined): Invocation {
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

/** `10s`, `1m`, `1.5s`, `250ms`: how a time limit reads in a message. */
export function formatLimit(ms: number): string {
  if (ms >= 1000 && ms % 60_000 === 0 && ms < 3_600_000) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0 && ms < 60_000) return `${ms / 1000}s`;
  return formatDuration(ms);
}

/**
 * Keeps the last `limit` bytes of a stream as whole lines where possible. Lines are stored
 * already masked, so a cut can never expose half a secret.
 */
class TailBuffer {
  private parts: string[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  dropped = 0;

  constructor(private readonly limit: number) {}

  push(text: string): void {
    const size = Buffer.byteLength(text);
    this.parts.push(text);
    this.sizes.push(size);
    this.bytes += size;
    while (this.bytes > this.limit && this.parts.length - this.head > 1) {
      const first = this.sizes[this.head] as number;
      this.bytes -= first;
      this.dropped += first;
      this.parts[this.head] = '';
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.parts.length) {
      this.parts = this.parts.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  text(): string {
    const joined = this.parts.slice(this.head).join('');
    if (this.bytes <= this.limit) return joined;
    // One part is larger than the limit on its own: keep its last `limit` bytes.
    const buf = Buffer.from(joined);
    const cut = buf.length - this.limit;
    this.dropped += cut;
    this.bytes = this.limit;
    return buf.subarray(cut).toString('utf8').replace(/^\uFFFD+/, '');
  }
}

/** Splits a byte stream into lines, decoding UTF-8 across chunk boundaries. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(
    private readonly emit: (line: string, newline: boolean) => void,
    private readonly mask: Masker,
  ) {}

  write(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf('\n', start);
      if (nl === -1) break;
      const end = nl > start && this.pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.emit(this.pending.slice(start, end), true);
      start = nl + 1;
    }
    this.pending = this.pending.slice(start);
    while (this.pending.length > MAX_LINE_CHARS + HOLD_BACK_CHARS) {
      // Never inside a secret: the cut moves to the start of a match that would straddle it.
      const at = this.pending.length - HOLD_BACK_CHARS;
      const cut = safeCut(this.mask, this.pending, at);
      this.emit(this.pending.slice(0, cut > 0 ? cut : at), false);
      this.pending = this.pending.slice(cut > 0 ? cut : at);
    }
  }

  end(): void {
    this.pending += this.decoder.end();
    if (this.pending.length > 0) this.emit(this.pending, false);
    this.pending = '';
  }
}

/**
 * Runs `spec` and resolves with how it ended; a non-zero exit is a result, not an error.
 * Rejects with `UsageError` for script text without `shell`, and with `ProviderError` when the
 * program cannot be started (not found, not executable, missing working directory).
 */
export async function runCommand(spec: CommandSpec, opts: RunCommandOptions = {}): Promise<CommandResult> {
  const invocation = toInvocation(spec, opts.name);
  const specObject = Array.isArray(spec) ? undefined : spec;
  const env: Record<string, string> = { ...opts.env, ...specObject?.env };
  const baseDir = opts.workDir ?? '.';
  const cwd = specObject?.cwd
    ? isAbsolute(specObject.cwd)
      ? specObject.cwd
      : resolvePath(baseDir, specObject.cwd)
    : resolvePath('.');
  const timeoutMs = specObject?.timeout ?? opts.timeoutMs;
  const mask: Masker = opts.mask ?? ((text: string) => text);
  const limit = opts.outputLimit ?? DEFAULT_OUTPUT_LIMIT;
  const killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const closeGraceMs = opts.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  const started = performance.now();

  if (opts.signal?.aborted) {
    return {
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: '',
      stdoutDroppedBytes: 0,
      stderrDroppedBytes: 0,
      timedOut: false,
      cancelled: true,
      durationMs: 0,
      reason: 'cancelled before it started',
    };
  }

  let child: ChildProcess;
  try {
    child = spawn(invocation.file, invocation.args, {
      cwd,
      env,
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
  } catch (err) {
    throw await startError(invocation, cwd, err);
  }
  // The group is known from here until the exit: a second Ctrl-C kills it, and the journal
  // records it for a resume after a crash. A command that failed to start has no pid.
  const untrack =
    child.pid === undefined
      ? () => {}
      : (() => {
          const local = trackGroup(child.pid);
          const journal = opts.track?.(child.pid) ?? (() => {});
          return () => {
            local();
            journal();
          };
        })();

  const tails = { stdout: new TailBuffer(limit), stderr: new TailBuffer(limit) };
  const splitters = {
    stdout: new LineSplitter((line, newline) => deliver('stdout', line, newline), mask),
    stderr: new LineSplitter((line, newline) => deliver('stderr', line, newline), mask),
  };
  function deliver(stream: OutputStream, line: string, newline: boolean): void {
    const masked = mask(line);
    tails[stream].push(newline ? `${masked}\n` : masked);
    if (opts.onLine) {
      try {
        opts.onLine(stream, masked);
      } catch {
        // A broken sink must not break the command.
      }
    }
  }
  child.stdout?.on('data', (chunk: Buffer) => splitters.stdout.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => splitters.stderr.write(chunk));

  let timedOut = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  let closeTimer: NodeJS.Timeout | undefined;
  const killGroup = (signal: NodeJS.Signals) => {
    const pid = child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    }
  };
  const stop = () => {
    killGroup('SIGTERM');
    killTimer ??= setTimeout(() => killGroup('SIGKILL'), killGraceMs);
    killTimer.unref?.();
  };
  const timeoutTimer =
    timeoutMs !== undefined
      ? setTimeout(() => {
          if (timedOut || cancelled) return;
          timedOut = true;
          stop();
        }, timeoutMs)
      : undefined;
  const onAbort = () => {
    if (timedOut || cancelled) return;
    cancelled = true;
    stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
        child.once('error', reject);
        child.once('exit', (code, signal) => {
          exit = { code, signal };
          // A background process may keep the pipes open: do not wait for it forever.
          closeTimer = setTimeout(() => {
            child.stdout?.destroy();
            child.stderr?.destroy();
            resolve(exit as { code: number | null; signal: NodeJS.Signals | null });
          }, closeGraceMs);
        });
        child.once('close', (code, signal) => resolve(exit ?? { code, signal }));
      },
    ).catch(async (err: unknown) => {
      throw await startError(invocation, cwd, err);
    });

    splitters.stdout.end();
    splitters.stderr.end();
    const result: CommandResult = {
      exitCode: code,
      signal,
      stdout: tails.stdout.text(),
      stderr: tails.stderr.text(),
      stdoutDroppedBytes: 0,
      stderrDroppedBytes: 0,
      timedOut,
      cancelled,
      durationMs: Math.round(performance.now() - started),
      reason: '',
    };
    result.stdoutDroppedBytes = tails.stdout.dropped;
    result.stderrDroppedBytes = tails.stderr.dropped;
    result.reason = timedOut
      ? `timed out after ${formatLimit(timeoutMs as number)}`
      : cancelled
        ? 'cancelled'
        : code !== null
          ? `exited with code ${code}`
          : `killed by ${signal ?? 'a signal'}`;
    return result;
  } finally {
    untrack();
    if (timeoutTimer) clearTimeout(timeoutTimer);
    if (killTimer) clearTimeout(killTimer);
    if (closeTimer) clearTimeout(closeTimer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

async function startError(
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
