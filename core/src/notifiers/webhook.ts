import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { duration, envVarName } from '../config/fields.js';
import { DeliveryError } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import type { RunMessage } from '../model/run-message.js';
import type { Notifier } from '../ports/notifier.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { DEFAULT_NOTIFY_KINDS, notifierFields } from './fields.js';
import { hostOf, postJson } from './http-post.js';
import { renderText } from './render/text.js';

/**
 * `webhook`: every event it wants as JSON to any URL, so other tools can subscribe. With a secret,
 * each request is signed: `X-Rollgate-Timestamp` (Unix seconds) and `X-Rollgate-Signature:
 * sha256=HEX`, the HMAC-SHA256 of `TIMESTAMP.BODY` with the secret, as Stripe and Slack sign theirs;
 * a receiver checks it with `verifyWebhookSignature` and refuses old timestamps (replays).
 * `X-Rollgate-Delivery` (`RUN.SEQ`) is the same on a retry, for de-duplication.
 */
export const type = 'webhook';

export const SIGNATURE_HEADER = 'x-rollgate-signature';
export const TIMESTAMP_HEADER = 'x-rollgate-timestamp';
export const DELIVERY_HEADER = 'x-rollgate-delivery';
export const EVENT_HEADER = 'x-rollgate-event';

const httpUrl = (text: string) => /^https?:\/\/[^\s]+$/.test(text) && hostOf(text) !== 'an invalid URL';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    url: z.string().refine(httpUrl, 'expected an http:// or https:// URL').optional().describe('Where to POST (a URL that is not a secret)'),
    urlEnv: envVarName('Environment variable holding the URL, when the URL itself is a secret').optional(),
    secretEnv: envVarName('Environment variable holding the HMAC-SHA256 signing secret').optional(),
    headers: z.record(z.string(), z.string()).optional().describe('Plain request headers (secrets go in secretEnv)'),
    timeout: duration('Give up on one request after this long (it is retried)').prefault('5s'),
    ...notifierFields(DEFAULT_NOTIFY_KINDS),
  })
  .refine((c) => (c.url === undefined) !== (c.urlEnv === undefined), { message: 'give url or urlEnv (one of them)' })
  .describe('POSTs each event and the run message as JSON, signed with HMAC-SHA256 when secretEnv is set');
export type WebhookNotifierConfig = z.infer<typeof configSchema>;

/** What a receiver gets: the event, the run's message, and the message as text. */
export interface WebhookPayload {
  version: 1;
  event: RunEvent;
  message: RunMessage;
  text: string;
}

/** The signature of `body` sent at `timestamp` (Unix seconds): `sha256=HEX`. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * For receivers: whether `signature` is ours for `body` at `timestamp`, sent within `toleranceS`
 * of `nowS` (default 5 minutes, so a captured request cannot be replayed later).
 */
export function verifyWebhookSignature(secret: string, timestamp: string, body: string, signature: string, nowS = Date.now() / 1000, toleranceS = 300): boolean {
  const at = Number(timestamp);
  if (!Number.isFinite(at) || Math.abs(nowS - at) > toleranceS) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function create(config: WebhookNotifierConfig, deps: ProviderDeps): Notifier {
  const url = config.url ?? (config.urlEnv ? deps.secret(config.urlEnv) : undefined);
  const secret = config.secretEnv ? deps.secret(config.secretEnv) : undefined;
  const destination = url ? hostOf(url) : `${config.urlEnv} (not set)`;
  const what = `webhook ${destination}`;
  return {
    type,
    destination,
    async notify(event, message) {
      if (!url) throw new DeliveryError(`${what}: environment variable ${config.urlEnv} is not set`, { fatal: true });
      if (config.secretEnv && !secret) throw new DeliveryError(`${what}: environment variable ${config.secretEnv} is not set (secretEnv)`, { fatal: true });
      const payload: WebhookPayload = { version: 1, event, message, text: renderText(message).join('\n') };
      const body = JSON.stringify(payload);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = {
        ...config.headers,
        'user-agent': 'rollgate-webhook',
        [EVENT_HEADER]: event.kind,
        [DELIVERY_HEADER]: `${event.runId}.${event.seq}`,
        [TIMESTAMP_HEADER]: timestamp,
        ...(secret ? { [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body) } : {}),
      };
      await postJson(url, body, headers, config.timeout, what);
    },
  };
}
