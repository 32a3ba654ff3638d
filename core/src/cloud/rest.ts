import type { StepContext } from '../ports/step-context.js';
import { describeRequestError, httpFetch } from '../util/http-fetch.js';
import { retryAfterMs } from '../util/retry-after.js';
import { callWithRetry, CloudError } from './retrying.js';

/*
 * JSON over HTTPS for the clouds spoken through their REST APIs (Google Cloud, Azure, Datadog):
 * one place that turns a status into a decision. A 401 refreshes the token once (a token that
 * expired mid-run is replaced, as the cloud's own SDKs do); a second 401 means the credentials
 * themselves are refused. 429, 5xx and network failures are retried here, call by call, honouring
 * Retry-After. Every other answer is thrown with the API's own message. Neither the token nor any
 * request header ever appears in a message: only the method, the path and the API's answer.
 */

/** Where a bearer token comes from: the cloud's standard credential sources. */
export interface TokenSource {
  /** A token valid now; cached by the source until shortly before it expires. */
  token(ctx: StepContext): Promise<string>;
  /** Forgets the cached token: the next `token()` obtains a fresh one (after a 401). */
  refresh?(): void;
}

export interface RestService {
  /** The provider's name, first in every message (`cloud-run`, `datadog`). */
  name: string;
  /** Bearer-token credentials; absent when `headers` carries them (API keys). */
  auth?: TokenSource;
  /** Headers of every request (API keys read through `deps.secret`, masked everywhere). */
  headers?(ctx: StepContext): Record<string, string>;
  /** Calls in all for one request (default 6). */
  attempts?: number;
}

export interface RestRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  query?: Record<string, string | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** What the call does, in the words of a message: "read the Cloud Run service web". */
  what: string;
}

export interface RestResponse<T> {
  status: number;
  body: T;
  headers: { get(name: string): string | null };
}

/** Sends one request, retried and classified as the header says. */
export async function restCall<T>(service: RestService, request: RestRequest, ctx: StepContext): Promise<RestResponse<T>> {
  let refreshed = false;
  return callWithRetry(
    async () => {
      const response = await send<T>(service, request, ctx);
      if (response.status === 401 && service.auth?.refresh && !refreshed) {
        // A token that expired since it was cached: one fresh token, then the answer stands.
        refreshed = true;
        service.auth.refresh();
        return check(service, request, await send<T>(service, request, ctx));
      }
      return check(service, request, response);
    },
    { service: service.name, what: request.what, ctx, ...(service.attempts !== undefined ? { attempts: service.attempts } : {}) },
  );
}

async function send<T>(service: RestService, request: RestRequest, ctx: StepContext): Promise<RestResponse<T>> {
  const url = new URL(request.url);
  for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
  const headers: Record<string, string> = { accept: 'application/json', ...service.headers?.(ctx), ...request.headers };
  if (service.auth) headers.authorization = `Bearer ${await service.auth.token(ctx)}`;
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const init = { method: request.method ?? 'GET', headers, signal: ctx.signal, redirect: 'error' as const };
  const exchange = (async () => {
    try {
      const response = await httpFetch(url, request.body === undefined ? init : { ...init, body: JSON.stringify(request.body) });
      return { status: response.status, text: await response.text(), headers: response.headers };
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw new CloudError(`${service.name}: cannot ${request.what}: ${url.host} is unreachable (${describeRequestError(err)})`, { retryable: true, unreachable: true, cause: err });
    }
  })();
  const answer = await (ctx.clock.hold ? ctx.clock.hold(exchange) : exchange);
  return { status: answer.status, body: parse(answer.text) as T, headers: answer.headers };
}

function check<T>(service: RestService, request: RestRequest, response: RestResponse<T>): RestResponse<T> {
  if (response.status >= 200 && response.status < 300) return response;
  throw restError(service.name, request, response);
}

/** An answer other than 2xx as a `CloudError`: retryable for 429 and 5xx, with what the API said. */
export function restError(name: string, request: Pick<RestRequest, 'what'>, response: RestResponse<unknown>): CloudError {
  const { status } = response;
  const api = apiError(response.body);
  const said = api.message ? `: ${api.message}` : '';
  const code = api.code ? ` ${api.code}` : '';
  // Datadog says when its rate-limit window resets instead of Retry-After (seconds, too).
  const wait = retryAfterMs(response.headers.get('retry-after') ?? (status === 429 ? response.headers.get('x-ratelimit-reset') : null));
  const options = { status, ...(api.code ? { code: api.code } : {}), ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  const prefix = `${name}: cannot ${request.what}`;
  if (status === 401) {
    return new CloudError(`${prefix}: the credentials were refused (HTTP 401${code}): they may have expired or been revoked; renew them in the CI secret or the login step${said}`, options);
  }
  if (status === 403) return new CloudError(`${prefix}: permission denied (HTTP 403${code})${said}; grant the permission to the identity rollgate runs as`, options);
  if (status === 404) return new CloudError(`${prefix}: not found (HTTP 404${code})${said}`, options);
  if (status === 429) return new CloudError(`${prefix}: throttled (HTTP 429${code})${said}`, { ...options, retryable: true });
  if (status >= 500) return new CloudError(`${prefix}: the API failed (HTTP ${status}${code})${said}`, { ...options, retryable: true });
  return new CloudError(`${prefix}: refused (HTTP ${status}${code})${said}`, options);
}

/** The error code and message of the common API error bodies (Google, Azure, Datadog, OAuth). */
export function apiError(body: unknown): { code?: string; message?: string } {
  if (typeof body === 'string') return body.trim() ? { message: cut(body) } : {};
  if (body === null || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const error = b.error;
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    const code = typeof e.status === 'string' ? e.status : typeof e.code === 'string' ? e.code : undefined;
    return { ...(code ? { code } : {}), ...(typeof e.message === 'string' ? { message: cut(e.message) } : {}) };
  }
  if (typeof error === 'string') {
    // OAuth token endpoints: {error, error_description}; the description's first line is the reason.
    const description = typeof b.error_description === 'string' ? b.error_description.split(/\r?\n/)[0] : undefined;
    return { code: error, ...(description ? { message: cut(description) } : {}) };
  }
  if (Array.isArray(b.errors)) return { message: cut(b.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ')) };
  if (typeof b.message === 'string') return { message: cut(b.message) };
  return {};
}

function parse(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function cut(text: string): string {
  const line = text.trim().replace(/\s+/g, ' ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
