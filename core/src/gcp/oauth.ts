import { createSign } from 'node:crypto';
import { ProviderError } from '../errors.js';
import type { StepContext } from '../ports/step-context.js';
import { describeRequestError, httpFetch } from '../util/http-fetch.js';

/*
 * The HTTP exchanges of Google's credential sources: an OAuth 2.0 token endpoint (a signed JWT
 * grant, a refresh token), the STS token exchange, IAM Credentials' generateAccessToken and the
 * metadata server. Plain node:http (util/http-fetch), held on the step's clock so a virtual clock
 * waits for them. What a source sends (a key, a refresh token, a subject token) and what it gets
 * back (the access token) never reach a message: only the endpoint's host and its error code.
 */

/** A token and when it stops being good, on the step's clock (epoch ms). */
export interface Grant {
  token: string;
  expiresAt: number;
}

/** A credential source's failure: which source, what went wrong, how to fix it. Retryable when the endpoint was unreachable or busy. */
export class CredentialsError extends ProviderError {
  override readonly name = 'CredentialsError';
}

export interface Exchange {
  url: string;
  method?: 'GET' | 'POST';
  form?: Record<string, string>;
  json?: unknown;
  headers?: Record<string, string>;
  /** The source, first in every message: "the service account key in GOOGLE_APPLICATION_CREDENTIALS (/path)". */
  source: string;
  /** What to do when the endpoint refuses: "create a new key…". */
  fix: string;
}

/** Sends one request and returns its status and text; unreachable is a retryable `CredentialsError`. */
export async function send(request: Exchange, ctx: StepContext, timeoutMs?: number): Promise<{ status: number; text: string }> {
  const url = new URL(request.url);
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  let body: string | undefined;
  if (request.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(request.form).toString();
  } else if (request.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.json);
  }
  const signal = timeoutMs === undefined ? ctx.signal : AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
  const work = (async () => {
    try {
      const response = await httpFetch(url, { method: request.method ?? (body === undefined ? 'GET' : 'POST'), headers, signal, redirect: 'error', ...(body !== undefined ? { body } : {}) });
      return { status: response.status, text: await response.text() };
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw new CredentialsError(`${request.source}: ${url.host} is unreachable (${describeRequestError(err)}); check the network, or ${request.fix}`, { retryable: true, cause: err });
    }
  })();
  return ctx.clock.hold ? ctx.clock.hold(work) : work;
}

/** Sends one exchange and returns its JSON; an answer other than 2xx is a `CredentialsError` with the endpoint's own reason. */
export async function exchange(request: Exchange, ctx: StepContext, timeoutMs?: number): Promise<Record<string, unknown>> {
  const answer = await send(request, ctx, timeoutMs);
  let parsed: unknown;
  try {
    parsed = answer.text.trim() === '' ? {} : JSON.parse(answer.text);
  } catch {
    parsed = undefined;
  }
  if (answer.status >= 200 && answer.status < 300 && parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
  throw refused(request, answer.status, parsed);
}

/** An endpoint's refusal in words: its status and reason, and the fix (or "retry later" when it was busy). */
export function refused(request: Pick<Exchange, 'url' | 'source' | 'fix'>, status: number, body: unknown): CredentialsError {
  const reason = reasonOf(body);
  const busy = status === 429 || status >= 500;
  return new CredentialsError(
    `${request.source}: ${new URL(request.url).host} refused the exchange (HTTP ${status}${reason ? `, ${reason}` : ''})${busy ? '; retry later' : `; ${request.fix}`}`,
    { retryable: busy },
  );
}

/** The reason an OAuth or Google API error body gives (`invalid_grant: …`, `PERMISSION_DENIED: …`), never the request. */
function reasonOf(body: unknown): string {
  if (!body || typeof body !== 'object') return '';
  const b = body as { error?: unknown; error_description?: unknown };
  if (typeof b.error === 'string') return typeof b.error_description === 'string' ? `${b.error}: ${firstLine(b.error_description)}` : b.error;
  if (b.error && typeof b.error === 'object') {
    const e = b.error as { status?: unknown; message?: unknown };
    return [e.status, e.message].filter((x) => typeof x === 'string').map((x) => firstLine(x as string)).join(': ');
  }
  return '';
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/)[0]?.trim() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** An OAuth token answer (`access_token`, `expires_in` seconds) as a grant on the step's clock. */
export function oauthGrant(body: Record<string, unknown>, source: string, ctx: StepContext): Grant {
  const token = body.access_token;
  if (typeof token !== 'string' || token === '') throw new CredentialsError(`${source}: the token endpoint answered without an access_token`);
  const seconds = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3600);
  return { token, expiresAt: ctx.clock.now() + (Number.isFinite(seconds) ? seconds : 3600) * 1000 };
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** The scope of every token rollgate asks for: Cloud Run, Cloud SQL and Monitoring all accept it. */
export const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

/** A self-signed RS256 JWT assertion for the jwt-bearer grant (RFC 7523), as Google's libraries make it. */
export function signedAssertion(key: { client_email: string; private_key: string; private_key_id?: string }, audience: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = { iss: key.client_email, scope: CLOUD_PLATFORM, aud: audience, iat, exp: iat + 3600 };
  const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key.private_key);
  return `${unsigned}.${base64url(signature)}`;
}
