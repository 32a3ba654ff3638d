import type { Stage, Workflow } from '../definition/schema.js';
import { ProviderError } from '../errors.js';
import type { Clock } from '../ports/clock.js';

export interface RetryPolicy {
  attempts: number;
  initialDelay: number;
  maxDelay: number;
}

/**
 * Retries `work` on retryable provider errors only (rate limits, 5xx, timeouts of a backend),
 * with exponential backoff and jitter (half the delay fixed, half random, so retries from many runs spread out); any other error, or the last attempt's, is thrown.
 * `random` is injectable so tests and the simulation repeat exactly.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  clock: Clock,
  signal: AbortSignal,
  work: (attempt: number) => Promise<T>,
  onRetry: (attempt: number, delayMs: number, err: Error) => void = () => {},
  random: () => number = Math.random,
  shouldRetry: (err: unknown) => boolean = isRetryable,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      if (!shouldRetry(err) || attempt >= policy.attempts || signal.aborted) throw err;
      const cap = Math.min(policy.maxDelay, policy.initialDelay * 2 ** (attempt - 1));
      const delay = Math.round(cap / 2 + (random() * cap) / 2);
      onRetry(attempt + 1, delay, err as Error);
      await clock.sleep(delay, signal);
    }
  }
}

/** The default: only provider errors that say a retry may help. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ProviderError && err.retryable;
}

/** The retry policy of a stage: its own, or the workflow's default. */
export function retryPolicyOf(workflow: Workflow, stage: Stage): RetryPolicy {
  return stage.retry ?? workflow.defaults.retry;
}
