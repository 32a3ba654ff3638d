import { DeliveryError } from '../../errors.js';
import { retryAfterMs } from '../delivery-error.js';
import { type HttpFetchResponse, httpFetch } from '../../util/http-fetch.js';

/**
 * A Slack incoming webhook: post only. A webhook cannot update a message or answer its `ts`, so a
 * notifier on a webhook posts each update as a new message; in-place progress needs a bot token
 * (`api.ts`). Plain `fetch` rather than `@slack/webhook` (not a dependency): one POST needs no SDK,
 * and the delivery queue needs the 429's `Retry-After`, which that package's errors do not classify.
 */
export interface SlackWebhook {
  post(msg: { text: string; blocks?: unknown[] }): Promise<void>;
}

export interface SlackWebhookOptions {
  /** Per-post limit (default 10 s): a post with no answer by then fails as retryable. */
  timeoutMs?: number;
}

export const DEFAULT_SLACK_WEBHOOK_TIMEOUT_MS = 10_000;

const WHAT = 'Slack incoming webhook';

/** What the plain-text error bodies Slack documents mean, and what to do about each. */
const HINTS: Record<string, string> = {
  invalid_payload: 'Slack refused the message as malformed',
  user_not_found: 'the payload names a user Slack does not know',
  invalid_blocks: 'Slack refused the blocks (more than 50, or one malformed)',
  msg_too_long: 'the text is too long',
  action_prohibited: 'a Slack admin restricted posting to the channel, or the app was disabled; ask an admin or create a webhook for another channel',
  invalid_token: 'the webhook was revoked; create a new one and update the secret',
  no_service: 'the webhook does not exist or was removed; create a new one and update the secret',
  no_team: 'the webhook\'s workspace is gone; create a new webhook and update the secret',
  team_disabled: 'the webhook\'s workspace is disabled; create a new webhook and update the secret',
  channel_not_found: 'the webhook\'s channel was deleted; create a webhook for another channel and update the secret',
  channel_is_archived: 'the webhook\'s channel is archived; unarchive it or create a webhook for another channel',
};

/**
 * Creates the poster. The URL is the credential (whoever holds it can post): it is used for the
 * request and appears in no error message. Redirects are refused so it is only ever sent to the
 * host it names. An invalid URL is reported at the first post, as a fatal `DeliveryError`.
 */
export function createSlackWebhook(url: string, options: SlackWebhookOptions = {}): SlackWebhook {
  const timeoutMs = options.timeoutMs ?? DEFAULT_SLACK_WEBHOOK_TIMEOUT_MS;
  return {
    async post(msg) {
      if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
        // A request error could echo the URL: refuse it here, without it.
        throw new DeliveryError(`${WHAT}: the URL is not an http(s) URL; fix the webhook secret`, { fatal: true });
      }
      let response: HttpFetchResponse;
      try {
        response = await httpFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify({ text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) }),
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw requestError(err, timeoutMs);
      }
      // Read the body either way: it frees the connection, and on an error it says which.
      const body = await response.text().catch(() => '');
      if (response.status === 200) return;
      throw webhookError(response.status, body, response.headers.get('retry-after'));
    },
  };
}

/** A post that got no answer: timed out or the network failed. Both are retried. */
function requestError(err: unknown, timeoutMs: number): DeliveryError {
  const e = err as { name?: unknown; cause?: { code?: unknown } } | null;
  if (e?.name === 'TimeoutError') {
    return new DeliveryError(`${WHAT}: no answer within ${timeoutMs} ms (timed out); will retry`, { retryable: true });
  }
  const code = e?.cause?.code;
  const detail = typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code) ? ` (${code})` : '';
  return new DeliveryError(`${WHAT}: network error${detail}; will retry`, { retryable: true });
}

/**
 * Classifies an answer other than 200 from Slack's documented statuses: 429 waits `Retry-After`;
 * 5xx and 408 retry; 403, 404 and 410 mean the webhook or its channel is gone (fatal); other 4xx
 * refuse this message only. Only a short `snake_case` code from the body is quoted.
 */
function webhookError(status: number, body: string, retryAfter: string | null): DeliveryError {
  const text = body.trim();
  const code = /^[a-z_]{1,64}$/.test(text) ? text : undefined;
  const said = code ? `${code}: ${HINTS[code] ?? 'Slack refused the message'}` : undefined;
  if (status === 429) {
    const wait = retryAfterMs(retryAfter);
    return new DeliveryError(`${WHAT}: rate limited (HTTP 429${wait !== undefined ? `, retry after ${wait} ms` : ''}); will retry`, {
      retryable: true,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    });
  }
  if (status >= 500 || status === 408) {
    return new DeliveryError(`${WHAT}: HTTP ${status}${code ? ` (${code})` : ''}; will retry`, { retryable: true });
  }
  if (status === 403 || status === 404 || status === 410) {
    const fallback = status === 403 ? 'not allowed; check the webhook' : 'the webhook or its channel is gone; create a new webhook and update the secret';
    return new DeliveryError(`${WHAT}: HTTP ${status}: ${said ?? fallback}`, { fatal: true });
  }
  return new DeliveryError(`${WHAT}: HTTP ${status}: ${said ?? 'Slack refused the message'}; it is not retried`);
}
