import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  type Logger,
} from '@slack/web-api';
import { DeliveryError } from '../../errors.js';
import { deliveryErrorForStatus } from '../delivery-error.js';

/**
 * The Slack Web API as the Slack notifier needs it: post a message (or a thread reply) and update
 * it in place. A thin layer over the real `@slack/web-api` `WebClient` whose only job is to make
 * the client predictable inside a CI job and to turn every failure into a classified
 * `DeliveryError` for the delivery queue.
 */
export interface SlackApi {
  /** `chat.postMessage`. Resolves to the channel **ID** and `ts`: `update` needs both (not the name). */
  post(msg: { channel: string; text: string; blocks?: unknown[]; threadTs?: string }): Promise<{ channel: string; ts: string }>;
  /** `chat.update` of a message this app posted; omitted `blocks` are kept by Slack, `[]` clears them. */
  update(msg: { channel: string; ts: string; text: string; blocks?: unknown[] }): Promise<void>;
}

export interface SlackApiOptions {
  /** Bot token (`xoxb-…`). Sent only in the `Authorization` header; never in a message or a log. */
  token: string;
  /** Web API base (default `https://slack.com/api/`): a local server in tests, a proxy in locked-down CI. */
  apiUrl?: string;
  /** Per-call limit (default 10 s): a call that has no answer by then fails as retryable. */
  timeoutMs?: number;
}

export const SLACK_API_URL = 'https://slack.com/api/';
export const DEFAULT_SLACK_TIMEOUT_MS = 10_000;

/** The Web API methods this layer calls; named in every error message. */
export type SlackApiMethod = 'chat.postMessage' | 'chat.update';

/**
 * The SDK logs through its own console logger by default (warnings on failed requests, debug lines
 * with request bodies): a CI log is public, so nothing of it may reach stdout. Failures reach the
 * user through `DeliveryError` instead.
 */
const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

/**
 * Creates the client. The SDK's own retries are off (`retries: 0`) and a 429 is rejected at once
 * (`rejectRateLimitedCalls`) instead of pausing every call on the client for `Retry-After` and
 * retrying for up to 30 minutes: the delivery queue owns retries and waits, so one slow channel
 * never stalls the others and a run's end is never held up by hidden retries. `allowAbsoluteUrls:
 * false` keeps every call on `apiUrl`, so the token is only ever sent there.
 */
export function createSlackApi(options: SlackApiOptions): SlackApi {
  const timeoutMs = options.timeoutMs ?? DEFAULT_SLACK_TIMEOUT_MS;
  const client = new WebClient(options.token, {
    slackApiUrl: options.apiUrl ?? SLACK_API_URL,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    allowAbsoluteUrls: false,
    timeout: timeoutMs,
    logger: silentLogger,
  });

  async function call(method: SlackApiMethod, channel: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      return (await client.apiCall(method, args)) as unknown as Record<string, unknown>;
    } catch (err) {
      throw slackApiError(method, channel, err, timeoutMs);
    }
  }

  return {
    async post(msg) {
      const result = await call('chat.postMessage', msg.channel, {
        channel: msg.channel,
        text: msg.text,
        blocks: msg.blocks,
        thread_ts: msg.threadTs,
      });
      const { channel, ts } = result;
      if (typeof channel !== 'string' || typeof ts !== 'string') {
        throw new DeliveryError('Slack chat.postMessage: the answer has no channel or ts; check that `apiUrl` is a Slack Web API');
      }
      return { channel, ts };
    },
    async update(msg) {
      await call('chat.update', msg.channel, { channel: msg.channel, ts: msg.ts, text: msg.text, blocks: msg.blocks });
    },
  };
}

/** Platform errors that mean the destination cannot work until someone fixes it: later messages are not tried. */
const FATAL: Record<string, (where: string, needed: string) => string> = {
  invalid_auth: () => 'the token is not valid; check the Slack bot token (xoxb-…) given to rollgate',
  not_authed: () => 'no token was sent; give rollgate the Slack bot token',
  account_inactive: () => 'the token belongs to a deactivated user or an uninstalled app; reinstall the app and update the token',
  token_revoked: () => 'the token was revoked; reinstall the app and update the token',
  token_expired: () => 'the token has expired; rotate it and update the token',
  channel_not_found: (where) => `the ${where} does not exist or the app cannot see it; invite the app or fix \`channel\``,
  is_archived: (where) => `the ${where} is archived; unarchive it or change \`channel\``,
  not_in_channel: (where) => `the app is not a member of the ${where}; invite it (/invite @app) or fix \`channel\``,
  missing_scope: (_where, needed) =>
    `the token lacks the scope ${needed || 'this call needs (chat:write)'}; add it under OAuth & Permissions and reinstall the app`,
  restricted_action: (where) => `the workspace does not let the app post in the ${where}; ask a Slack admin or change \`channel\``,
  team_access_not_granted: () => 'the token has no access to this workspace; install the app in it',
};

/** Platform errors that refuse this one message: it is given up, later messages are still tried. */
const REFUSED: Record<string, string> = {
  msg_too_long: 'the text is over 40,000 characters',
  invalid_blocks: 'Slack refused the blocks (more than 50, or one malformed)',
  invalid_blocks_format: 'the blocks are not a JSON array of blocks',
  no_text: 'the message has neither text nor blocks',
  message_not_found: 'the message to update is gone (deleted, or a wrong ts)',
  cant_update_message: 'the app may only update messages it posted',
  edit_window_closed: 'the message is too old to edit',
  thread_not_found: 'the parent message of the thread reply is gone',
};

/** Platform errors that are Slack's own passing trouble: retried. */
const TRANSIENT = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

/**
 * Classifies whatever the `WebClient` threw. Messages are built only from values we know the
 * shape of (status codes, Slack's error codes, the channel): never from the SDK's messages, the
 * request, headers or bodies, which can carry the token. No `cause` is attached, for the same reason.
 */
export function slackApiError(method: SlackApiMethod, channel: string, err: unknown, timeoutMs: number): DeliveryError {
  const what = `Slack ${method}`;
  if (err instanceof WebAPIRateLimitedError) {
    const wait = Math.max(0, err.retryAfter * 1000);
    return new DeliveryError(`${what}: rate limited (HTTP 429), retry after ${wait} ms`, { retryable: true, retryAfterMs: wait });
  }
  if (err instanceof WebAPIHTTPError) return deliveryErrorForStatus(err.statusCode, what);
  if (err instanceof WebAPIRequestError) {
    if (err.original.name === 'TimeoutError') {
      return new DeliveryError(`${what}: no answer within ${timeoutMs} ms (timed out); will retry`, { retryable: true });
    }
    const code = (err.original.cause as { code?: unknown } | undefined)?.code;
    const detail = typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code) ? ` (${code})` : '';
    return new DeliveryError(`${what}: network error${detail}; will retry`, { retryable: true });
  }
  if (err instanceof WebAPIPlatformError) {
    const code = typeof err.data.error === 'string' && /^[a-z0-9_.]{1,64}$/.test(err.data.error) ? err.data.error : undefined;
    if (code === undefined) {
      return new DeliveryError(`${what}: the answer is not Slack's JSON; check \`apiUrl\` and any proxy; will retry`, { retryable: true });
    }
    const fatal = FATAL[code];
    if (fatal) {
      const needed = (err.data as { needed?: unknown }).needed;
      const scope = typeof needed === 'string' && /^[a-z:._,]{1,200}$/.test(needed) ? needed : '';
      return new DeliveryError(`${what}: ${code}: ${fatal(where(channel), scope)}`, { fatal: true });
    }
    if (TRANSIENT.has(code)) return new DeliveryError(`${what}: ${code}: a passing Slack error; will retry`, { retryable: true });
    return new DeliveryError(`${what}: ${code}: ${REFUSED[code] ?? 'Slack refused the message'}; it is not retried`);
  }
  // The SDK's own plain errors. Its message names the URL (never the token) but is not repeated.
  if (err instanceof Error && err.message.startsWith('Retry header did not contain a valid timeout')) {
    return new DeliveryError(`${what}: rate limited (HTTP 429, no usable Retry-After); will retry`, { retryable: true });
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new DeliveryError(`${what}: the call could not be made (${name}); it is not retried`);
}

/** `#deploys` for a name, `channel C0123…` for an ID, as the user wrote it in `channel`. */
function where(channel: string): string {
  return /^[CGD][A-Z0-9]{6,}$/.test(channel) ? `channel ${channel}` : `channel #${channel.replace(/^#/, '')}`;
}
