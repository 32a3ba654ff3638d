import { ProviderError } from '../errors.js';
import type { StepContext } from '../ports/step-context.js';
import { describeRequestError, httpFetch } from '../util/http-fetch.js';

/*
 * One request to a token endpoint (Microsoft Entra ID, managed identity, GitHub's OIDC provider),
 * held on the step's clock. What comes back is parsed here and only here, so that no token,
 * secret or assertion can reach a message: errors quote the endpoint's error code (AADSTS…) and
 * the first sentence of its description, never the request or the body as a whole.
 */

/** A token and when it stops being valid (ms since the epoch, on the step's clock). */
export interface AccessToken {
  token: string;
  expiresAt: number;
}

/** A source that is not set up on this runner: the chain tries the next one. */
export class SourceUnavailable extends Error {
  override readonly name = 'SourceUnavailable';
}

export interface TokenRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  form?: Record<string, string>;
  /** The source, for messages ("environment (AZURE_CLIENT_SECRET)"). */
  source: string;
  /** What to do when the endpoint refuses, appended to the error. */
  fix: string;
  /** A short deadline (IMDS): unreachable within it means the source is not there. */
  probeMs?: number;
}

/** Sends the request and returns its JSON body; a refusal is a `ProviderError` naming the source. */
export async function tokenRequest(request: TokenRequest, ctx: StepContext): Promise<Record<string, unknown>> {
  const signal = request.probeMs === undefined ? ctx.signal : AbortSignal.any([ctx.signal, AbortSignal.timeout(request.probeMs)]);
  const body = request.form ? new URLSearchParams(request.form) : undefined;
  const exchange = (async () => {
    try {
      const response = await httpFetch(request.url, { method: request.method ?? (body ? 'POST' : 'GET'), headers: { accept: 'application/json', ...request.headers }, ...(body ? { body } : {}), signal, redirect: 'error' });
      return { status: response.status, text: await response.text(), retryAfter: response.headers.get('retry-after') };
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (request.probeMs !== undefined) throw new SourceUnavailable(`${request.source}: no answer from ${new URL(request.url).host} (${describeRequestError(err)})`);
      throw new ProviderError(`azure: credentials from ${request.source}: ${new URL(request.url).host} is unreachable (${describeRequestError(err)})`, { retryable: true, cause: err });
    }
  })();
  const answer = await (ctx.clock.hold ? ctx.clock.hold(exchange) : exchange);
  const parsed = parseJson(answer.text);
  if (answer.status >= 200 && answer.status < 300 && parsed) return parsed;
  const reason = describeTokenError(parsed, answer.status);
  const retryable = answer.status === 429 || answer.status >= 500;
  throw new ProviderError(`azure: credentials from ${request.source} were refused (HTTP ${answer.status}${reason ? `: ${reason}` : ''}); ${request.fix}`, { retryable });
}

/** The token of a Microsoft Entra ID or managed identity answer, with its expiry. */
export function accessTokenOf(body: Record<string, unknown>, now: number, source: string): AccessToken {
  const token = body.access_token ?? body.accessToken;
  if (typeof token !== 'string' || token === '') throw new ProviderError(`azure: credentials from ${source}: the answer holds no access token`);
  return { token, expiresAt: expiryOf(body, now) };
}

/**
 * When a token expires: `expires_in` (seconds from now: Entra ID), `expires_on` (epoch seconds:
 * managed identity, recent Azure CLI), `expiresOn` (a local date: older Azure CLI); an hour when
 * none is readable (the shortest lifetime Entra ID issues is longer than the margin kept).
 */
function expiryOf(body: Record<string, unknown>, now: number): number {
  const inSeconds = Number(body.expires_in);
  if (Number.isFinite(inSeconds) && inSeconds > 0) return now + inSeconds * 1000;
  const on = Number(body.expires_on);
  if (Number.isFinite(on) && on > 0) return on * 1000;
  const date = typeof body.expiresOn === 'string' ? Date.parse(body.expiresOn) : Number.NaN;
  if (!Number.isNaN(date)) return date;
  return now + 3_600_000;
}

/**
 * An endpoint's refusal in words: Entra ID's `{error, error_description, error_codes}` as the
 * AADSTS code and the description's first sentence (its trace and correlation ids dropped).
 */
export function describeTokenError(body: Record<string, unknown> | undefined, status: number): string {
  if (!body) return status === 404 ? 'not found' : '';
  const error = typeof body.error === 'string' ? body.error : typeof (body.error as { code?: unknown })?.code === 'string' ? String((body.error as { code: string }).code) : undefined;
  const raw = typeof body.error_description === 'string' ? body.error_description : typeof (body.error as { message?: unknown })?.message === 'string' ? String((body.error as { message: string }).message) : typeof body.message === 'string' ? body.message : '';
  const first = (raw.split(/\r?\n| Trace ID:| Correlation ID:| Timestamp:/)[0] ?? '').trim();
  const description = first.length > 240 ? `${first.slice(0, 240)}…` : first;
  const codes = Array.isArray(body.error_codes) && body.error_codes.length > 0 && !/AADSTS\d+/.test(description) ? ` (AADSTS${String(body.error_codes[0])})` : '';
  return [error, description].filter(Boolean).join(': ') + codes;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
