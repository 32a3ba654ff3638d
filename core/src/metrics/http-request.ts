import { z } from 'zod';
import { duration, envVarName } from '../config/fields.js';
import { ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { formatLimit } from '../util/command-runner.js';
import { describeRequestError, type HttpFetchResponse, httpFetch } from '../util/http-fetch.js';

/*
 * What the HTTP metric sources share (the `http` metric, the `prometheus` metric and probe): the
 * connection fields, credentials read through deps, one request under the step's signal and a
 * timeout, and errors classified as retryable or not. A message names the provider and the URL,
 * never credentials: no user info, no query string, no header value.
 */

const headerValue = z.union([
  z.string().describe('A plain value'),
  z.strictObject({ valueEnv: envVarName('Environment variable holding the value (a secret, masked everywhere)') }),
]);

/** The connection fields of an HTTP source, spread into each config schema. */
export const connectionFields = (defaultTimeout: string) => ({
  headers: z
    .record(z.string(), headerValue)
    .optional()
    .describe('Request headers: a plain value, or { valueEnv: NAME } to read a secret from an environment variable (X-Scope-OrgID: tenant-1)'),
  bearerTokenEnv: envVarName('Environment variable holding a bearer token sent as Authorization').optional(),
  username: z.string().min(1).optional().describe('User for HTTP Basic auth, with passwordEnv (a user:password@ in the URL works too)'),
  passwordEnv: envVarName('Environment variable holding the HTTP Basic auth password').optional(),
  timeout: duration('Give up on one request after this long').prefault(defaultTimeout),
});

export interface ConnectionConfig {
  headers?: Record<string, string | { valueEnv: string }> | undefined;
  bearerTokenEnv?: string | undefined;
  username?: string | undefined;
  passwordEnv?: string | undefined;
  timeout: number;
}

/** Basic auth needs both halves; a token and Basic auth together cannot both be sent. */
export function checkConnection(config: Omit<ConnectionConfig, 'timeout'>, ctx: z.RefinementCtx): void {
  if ((config.username === undefined) !== (config.passwordEnv === undefined)) {
    ctx.addIssue({ code: 'custom', path: [config.username === undefined ? 'username' : 'passwordEnv'], message: 'give username and passwordEnv together' });
  }
  if (config.bearerTokenEnv !== undefined && config.passwordEnv !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['bearerTokenEnv'], message: 'give bearerTokenEnv or username/passwordEnv, not both: one Authorization header is sent' });
  }
}

/** A request ready to send: the URL without user info, the headers with credentials. */
export interface PreparedRequest {
  url: URL;
  headers: Record<string, string>;
  /** The URL as messages show it: no user info, no query string. */
  shown: string;
}

/**
 * Builds the request's URL and headers. Throws a `ProviderError` (not retryable) when the URL is
 * not an http(s) URL or a secret it names is not set.
 */
export function prepareRequest(provider: string, url: string, config: ConnectionConfig, deps: ProviderDeps): PreparedRequest {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new ProviderError(`${provider}: url '${shownUrl(url)}' is not a valid URL; write it as http(s)://host[:port]/path`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new ProviderError(`${provider}: url '${shownUrl(url)}' is not http(s); write it as http(s)://host[:port]/path`);
  }
  const headers: Record<string, string> = {};
  const secret = (name: string, field: string) => {
    const value = deps.secret(name);
    if (!value) throw new ProviderError(`${provider}: environment variable ${name} is not set (${field}); export it in the CI job's secrets`);
    return value;
  };
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    headers[name.toLowerCase()] = typeof value === 'string' ? value : secret(value.valueEnv, `headers.${name}.valueEnv`);
  }
  if (target.username || target.password) {
    // Credentials in the URL are sent as Basic auth, as curl does, and never appear in messages.
    headers.authorization = basic(decodeURIComponent(target.username), decodeURIComponent(target.password));
    target.username = '';
    target.password = '';
  }
  if (config.username !== undefined && config.passwordEnv !== undefined) {
    headers.authorization = basic(config.username, secret(config.passwordEnv, 'passwordEnv'));
  }
  if (config.bearerTokenEnv !== undefined) headers.authorization = `Bearer ${secret(config.bearerTokenEnv, 'bearerTokenEnv')}`;
  return { url: target, headers, shown: shownUrl(target) };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The URL without user info or query string, for messages. */
export function shownUrl(url: string | URL): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    // Not a URL: drop anything that could be user info before a '@'.
    return String(url).replace(/^[^@/]*@/, '').replace(/\?.*$/, '');
  }
}

/** What an HTTP answer held. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  text: string;
}

/** Bodies larger than this are refused: a metric is one number, and a wrong URL can serve gigabytes. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Sends one request and reads the whole body, within `timeoutMs` and until `signal` aborts.
 * Resolves for every status; rejects with a `ProviderError`: retryable when the source could not
 * be reached or did not answer in time, not retryable when cancelled.
 */
export async function send(
  provider: string,
  request: PreparedRequest,
  init: { method: string; body?: string | URLSearchParams; contentType?: string },
  timeoutMs: number,
  signal: AbortSignal,
): Promise<HttpAnswer> {
  if (signal.aborted) throw new ProviderError(`${provider}: cancelled before requesting ${request.shown}`, { cause: signal.reason });
  const deadline = AbortSignal.timeout(timeoutMs);
  const both = AbortSignal.any([signal, deadline]);
  const headers = { accept: 'application/json', ...request.headers, ...(init.contentType ? { 'content-type': init.contentType } : {}) };
  try {
    const response = await httpFetch(request.url, { method: init.method, headers, signal: both, ...(init.body !== undefined ? { body: init.body } : {}) });
    const text = await readBody(response, request.shown, provider);
    return { status: response.status, statusText: response.statusText, text };
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    if (signal.aborted) throw new ProviderError(`${provider}: cancelled while requesting ${request.shown}`, { cause: err });
    if (deadline.aborted) {
      throw new ProviderError(`${provider}: no answer from ${request.shown} within ${formatLimit(timeoutMs)} (timeout); is it overloaded, or is the timeout too short?`, {
        retryable: true,
        cause: err,
      });
    }
    throw new ProviderError(`${provider}: request to ${request.shown} failed: ${describeFetchError(err)}`, { retryable: true, cause: err });
  }
}

async function readBody(response: HttpFetchResponse, shown: string, provider: string): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? '0');
  const tooLarge = () => new ProviderError(`${provider}: ${shown} answered more than ${MAX_BODY_BYTES / 1024 / 1024} MiB; is url the right endpoint?`);
  if (length > MAX_BODY_BYTES) {
    await response.body.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) {
      await response.body.cancel();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchError(err: unknown): string {
  const code = (err as { cause?: { code?: string } } | undefined)?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens there: is it running, and is the port right?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${code}: the host name does not resolve`;
  return describeRequestError(err);
}

/** 408, 429 and 5xx: the source may answer next time. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The start of a body for a message, on one line. */
export function snippet(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}
