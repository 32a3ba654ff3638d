import { CancelledError, DeadlineExceededError } from '../errors.js';
import type { Clock } from '../ports/clock.js';

/**
 * Runs `work` with a signal that aborts when `parent` aborts or `ms` pass on `clock`. The work
 * must honour the signal; the returned promise also settles at the deadline, so a provider that
 * ignores it cannot hold the run.
 */
export async function withDeadline<T>(
  label: string,
  ms: number,
  clock: Clock,
  parent: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (parent.aborted) throw asError(parent.reason, label);
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onParentAbort, { once: true });
  // The error is built only when the deadline fires: most steps finish in time, and an Error's
  // stack trace is costly when thousands of workflows run in one process.
  const cancelTimer = clock.setTimer(ms, () => controller.abort(new DeadlineExceededError(`${label}: deadline of ${formatMs(ms)} passed`)));
  try {
    return await new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(asError(controller.signal.reason, label));
      controller.signal.addEventListener('abort', onAbort, { once: true });
      work(controller.signal).then(
        (value) => {
          controller.signal.removeEventListener('abort', onAbort);
          if (controller.signal.aborted) reject(asError(controller.signal.reason, label));
          else resolve(value);
        },
        (err: unknown) => {
          controller.signal.removeEventListener('abort', onAbort);
          reject(controller.signal.aborted ? asError(controller.signal.reason, label) : err);
        },
      );
    });
  } finally {
    cancelTimer();
    parent.removeEventListener('abort', onParentAbort);
  }
}

function asError(reason: unknown, label: string): Error {
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new CancelledError(`${label}: cancelled${reason ? ` (${String(reason)})` : ''}`);
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
