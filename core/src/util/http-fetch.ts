import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { errorMessage } from '../errors.js';

/*
 * The subset of `fetch` that probes, metric sources, the audit HTTP sink and notification webhooks
 * use, over node:http and node:https. Not the global `fetch`: on Node 20 the first `fetch()` in a
 * process compiles undici, about 270 ms of CPU and 39 MiB of peak memory, in a CLI that otherwise
 * starts in 300 ms and 65 MiB (bench/README.md). Node's HTTP client is already loaded.
 *
 * What callers relied on from fetch is kept: redirects followed (at most 20; 303, and 301/302 after
 * a POST, become GET; Authorization is dropped when the origin changes) or refused with
 * `redirect: 'error'`; gzip, deflate and br bodies decoded; the signal ends the request at any
 * point, rejecting with the signal's reason (a `TimeoutError` for `AbortSignal.timeout`); a network
 * failure rejects with a TypeError whose `cause` is the socket error (its `code`: ECONNREFUSED…);
 * idle connections are kept alive by Node's global agent and never keep the process running.
 * node:http, node:https and node:zlib are loaded at the first request, not at start-up.
 */

export interface HttpFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  signal?: AbortSignal;
  /** 'follow' (default) or 'error': a redirect then rejects, so a secret URL goes nowhere else. */
  redirect?: 'follow' | 'error';
}

export interface HttpFetchResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  /** The body, decoded, as chunks. */
  readonly body: AsyncIterable<Uint8Array> & { cancel(): Promise<void> };
  text(): Promise<string>;
}

const MAX_REDIRECTS = 20;
/** What fetch would send unless told otherwise (some servers and proxies refuse a request without a User-Agent). */
const DEFAULT_HEADERS = { accept: '*/*', 'user-agent': 'rollgate', 'accept-encoding': 'gzip, deflate, br' };
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function httpFetch(input: string | URL, init: HttpFetchInit = {}): Promise<HttpFetchResponse> {
  let url = new URL(input);
  let method = (init.method ?? 'GET').toUpperCase();
  let headers: Record<string, string> = lowerCase(init.headers ?? {});
  let body = init.body === undefined ? undefined : String(init.body);
  if (init.body instanceof URLSearchParams && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
  }
  const modules = await clientModules();
  for (let hop = 0; ; hop++) {
    const response = await once(modules, url, method, headers, body, init.signal);
    const location = response.headers.location;
    if (!REDIRECTS.has(response.statusCode ?? 0) || location === undefined) return wrap(modules, response, init.signal);
    response.resume();
    if (init.redirect === 'error') throw new TypeError('request failed', { cause: new Error(`redirected (${response.statusCode}), and redirects are refused`) });
    if (hop >= MAX_REDIRECTS) throw new TypeError('request failed', { cause: new Error(`more than ${MAX_REDIRECTS} redirects`) });
    const next = new URL(location, url);
    if (next.origin !== url.origin) {
      headers = { ...headers };
      delete headers.authorization;
    }
    if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
      headers = { ...headers };
      delete headers['content-type'];
    }
    url = next;
  }
}

type ClientModules = Awaited<ReturnType<typeof loadClientModules>>;
let loaded: Promise<ClientModules> | undefined;
const clientModules = () => (loaded ??= loadClientModules());

async function loadClientModules() {
  const [http, https, zlib] = await Promise.all([import('node:http'), import('node:https'), import('node:zlib')]);
  return { plainRequest: http.request, tlsRequest: https.request, zlib };
}

function once({ plainRequest, tlsRequest }: ClientModules, url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return reject(new TypeError('request failed', { cause: new Error(`unsupported protocol ${url.protocol}`) }));
    }
    const send = url.protocol === 'https:' ? tlsRequest : plainRequest;
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const request = send(url, { method, headers: { ...DEFAULT_HEADERS, ...headers, ...length }, ...(signal ? { signal } : {}) }, resolve);
    request.on('error', (err) => reject(signal?.aborted ? signal.reason : new TypeError('request failed', { cause: err })));
    request.end(body);
  });
}

function wrap({ zlib }: ClientModules, response: IncomingMessage, signal: AbortSignal | undefined): HttpFetchResponse {
  const encoding = String(response.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip' ? zlib.createGunzip() : encoding === 'deflate' ? zlib.createInflate() : encoding === 'br' ? zlib.createBrotliDecompress() : undefined;
  const stream: Readable = decoder ? response.pipe(decoder) : response;
  if (decoder) response.on('error', (err) => decoder.destroy(err));
  // Errors reach whoever reads the body; an unread body that fails must not crash the process.
  response.on('error', ignore);
  stream.on('error', ignore);
  // An abort after the answer began ends the body with the signal's reason, as fetch does.
  const aborted = () => stream.destroy(signal?.reason);
  signal?.addEventListener('abort', aborted, { once: true });
  stream.once('close', () => signal?.removeEventListener('abort', aborted));
  const status = response.statusCode ?? 0;
  const chunks = async function* () {
    for await (const chunk of stream) yield chunk as Uint8Array;
  };
  const body = Object.assign(chunks(), {
    cancel: async () => {
      response.destroy();
      stream.destroy();
    },
  });
  return {
    status,
    statusText: response.statusMessage ?? '',
    ok: status >= 200 && status < 300,
    headers: {
      get: (name) => {
        const value = response.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    body,
    async text() {
      const parts: Buffer[] = [];
      for await (const chunk of stream) parts.push(chunk as Buffer);
      return Buffer.concat(parts).toString('utf8');
    },
  };
}

const ignore = () => undefined;

function lowerCase(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

/** A rejected request in words: the socket error's code (and its message), or the error's own message. */
export function describeRequestError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  return errorMessage(err);
}
