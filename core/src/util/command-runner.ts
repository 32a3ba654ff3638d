import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { CommandSpec } from '../model/command.js';
import { trackGroup } from './child-groups.js';
import { formatDuration } from './duration.js';
import { startError, toInvocation } from './command-spec.js';
import type { Masker } from './mask.js';
import { LineSplitter, TailBuffer } from './output-lines.js';

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
/** `10s`, `1m`, `1.5s`, `250ms`: how a time limit reads in a message. */
export function formatLimit(ms: number): string {
  if (ms >= 1000 && ms % 60_000 === 0 && ms < 3_600_000) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0 && ms < 60_000) return `${ms / 1000}s`;
  return formatDuration(ms);
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
  // An abort while the command was being tracked (before the listener) still stops it.
  if (opts.signal?.aborted) onAbort();

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

export { checkCommandSpec, describeCommand } from './command-spec.js';
