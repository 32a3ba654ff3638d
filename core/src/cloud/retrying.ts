import { ProviderError } from '../errors.js';
import type { StepContext } from '../ports/step-context.js';

/*
 * Call-level retries for cloud APIs: one throttled or failed request is sent again, not the whole
 * step (a step's own retry would redo work that already changed something). Waits go through the
 * step's clock, so a virtual clock makes a minute of backoff cost nothing in the tests, and through
 * its signal, so a deadline or a cancellation ends the wait at once.
 */

/** A cloud API's answer as an error: the HTTP status, the API's own code and its Retry-After. */
export class CloudError extends ProviderError {
  override readonly name: string = 'CloudError';
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** No answer at all (refused, unresolved, reset): worth one more try here, the rest is the step's retry policy. */
  readonly unreachable: boolean;
  constructor(
    message: string,
    options: { status?: number; code?: string; retryAfterMs?: number; retryable?: boolean; cause?: unknown; nothingChanged?: boolean; unreachable?: boolean } = {},
  ) {
    super(message, options);
    this.status = options.status;
    this.code = options.code;
    this.retryAfterMs = options.retryAfterMs;
    this.unreachable = options.unreachable ?? false;
  }
}

export interface RetryOptions {
  /** The provider's name, first in every log line and error (`cloud-run`, `ecs`). */
  service: string;
  /** What the call does, for the log ("read the service web"). */
  what: string;
  ctx: Pick<StepContext, 'clock' | 'signal' | 'log'>;
  /** Calls in all, the first included (default 6: about a minute of backoff at most). */
  attempts?: number;
  /** Backoff before the second attempt, doubled after each (default 500 ms). */
  initialDelayMs?: number;
  /** The longest wait between two attempts (default 20 s), Retry-After included. */
  maxDelayMs?: number;
  random?: () => number;
}

export const DEFAULT_ATTEMPTS = 6;
const UNREACHABLE_ATTEMPTS = 2;
const INITIAL_DELAY_MS = 500;
const MAX_DELAY_MS = 20_000;

/**
 * Calls `work` until it succeeds, retrying `ProviderError`s that say `retryable`. A wait the API
 * asked for (Retry-After) is honoured when it fits under `maxDelayMs`; a longer one is not waited
 * for: the error is thrown, saying how long the API asked for, so the step's own retry or a person
 * decides. Other errors, and the last attempt's, are thrown as they are.
 */
export async function callWithRetry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const initial = options.initialDelayMs ?? INITIAL_DELAY_MS;
  const maxDelay = options.maxDelayMs ?? MAX_DELAY_MS;
  const random = options.random ?? Math.random;
  const { ctx } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      // An endpoint that does not answer gets one more call here, not six: the step's own retries
      // come on top, and a run should not spend a minute knocking on a closed port.
      const limit = err instanceof CloudError && err.unreachable ? Math.min(attempts, UNREACHABLE_ATTEMPTS) : attempts;
      if (!(err instanceof ProviderError) || !err.retryable || attempt >= limit || ctx.signal.aborted) throw err;
      const asked = err instanceof CloudError ? err.retryAfterMs : undefined;
      if (asked !== undefined && asked > maxDelay) {
        throw new CloudError(`${err.message}; the API asked to retry after ${Math.ceil(asked / 1000)}s, longer than rollgate waits within one call`, {
          retryable: true,
          cause: err,
          ...(err instanceof CloudError ? { status: err.status, code: err.code, retryAfterMs: asked } : {}),
        });
      }
      const cap = Math.min(maxDelay, initial * 2 ** (attempt - 1));
      // Half fixed, half random: many runs throttled together do not come back together.
      const delay = asked ?? Math.round(cap / 2 + (random() * cap) / 2);
      ctx.log.info(`${options.service}: ${options.what}: ${reasonOf(err, options)}, retrying in ${seconds(delay)} (attempt ${attempt + 1} of ${limit})`);
      await ctx.clock.sleep(delay, ctx.signal);
    }
  }
}

function reasonOf(err: ProviderError, options: RetryOptions): string {
  if (err instanceof CloudError && (err.status === 429 || /throttl|rate exceeded|too many requests|RequestLimitExceeded/i.test(`${err.code ?? ''} ${err.message}`))) {
    return 'throttled';
  }
  // The message already names the service and the call; the log line names them once.
  for (const prefix of [`${options.service}: cannot ${options.what}: `, `${options.service}: `]) if (err.message.startsWith(prefix)) return err.message.slice(prefix.length);
  return err.message;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}
