import { errorMessage } from '../errors.js';

/** Why the last write of a sink did not finish, when it ran out of time. */
export const DEADLINE_PASSED = 'the last write did not finish before the deadline';

/**
 * Waits for `work`, but not past `deadline`: resolves with why it did not finish (what it threw,
 * or `DEADLINE_PASSED`), or `undefined` when it did. The work itself goes on; only the wait ends.
 */
export function untilAborted(work: Promise<unknown>, deadline: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const onAbort = () => resolve(DEADLINE_PASSED);
    if (deadline.aborted) onAbort();
    deadline.addEventListener('abort', onAbort, { once: true });
    work.then(
      () => resolve(undefined),
      (err: unknown) => resolve(errorMessage(err)),
    ).finally(() => deadline.removeEventListener('abort', onAbort));
  });
}
