import { setMaxListeners } from 'node:events';
import { CancelledError, DeadlineExceededError, StepDidNotStopError } from '../errors.js';
import type { Clock } from '../ports/clock.js';

/** How long a cancelled step may take to stop (a command gets SIGTERM, then SIGKILL after 2 s). */
export const SETTLE_MS = 10_000;

/**
 * Runs `work` with a signal that aborts when `parent` aborts or `ms` pass on `clock`. After an
 * abort it waits for the work to stop before it rejects, so an undo never races the step it
 * undoes; work that does not stop within `settleMs` rejects with `StepDidNotStopError`, whose
 * effect is unknown and which the caller must report as needing a human.
 */
export async function withDeadline<T>(
  label: string,
  ms: number,
  clock: Clock,
  parent: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
  settleMs = SETTLE_MS,
): Promise<T> {
  if (parent.aborted) throw asError(parent.reason, label);
  const controller = new AbortController();
  // A wave changes hundreds of units at once, each waiting on this signal: no listener limit.
  setMaxListeners(0, controller.signal);
  const onParentAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onParentAbort, { once: true });
  // The error is built only when the deadline fires: most steps finish in time, and an Error's
  // stack trace is costly when thousands of workflows run in one process.
  const cancelTimer = clock.setTimer(ms, () => controller.abort(new DeadlineExceededError(`${label}: deadline of ${formatMs(ms)} passed`)));
  try {
    const running = work(controller.signal);
    return await new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        const reason = asError(controller.signal.reason, label);
        const giveUp = clock.setTimer(settleMs, () =>
          reject(new StepDidNotStopError(`${label}: did not stop within ${formatMs(settleMs)} after: ${reason.message}; what it changed is unknown`, { cause: reason })),
        );
        const settled = () => {
          giveUp();
          reject(reason);
        };
        running.then(settled, settled);
      };
      controller.signal.addEventListener('abort', onAbort, { once: true });
      running.then(
        (value) => {
          if (controller.signal.aborted) return; // onAbort reports it once the work stopped
          controller.signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (err: unknown) => {
          if (controller.signal.aborted) return;
          controller.signal.removeEventListener('abort', onAbort);
          reject(err);
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
