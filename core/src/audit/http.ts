import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { duration, envVarName } from '../definition/common.js';
import { errorMessage, ProviderError } from '../errors.js';
import type { AuditSink, AuditSinkDeps } from '../ports/audit-sink.js';
import { formatLimit } from '../util/command-runner.js';
import { hasPlaceholder } from '../util/template.js';
import { type ChainHead, seal } from './chain.js';
import type { AuditEntry } from './entry.js';

/**
 * `http`: batches of entries POSTed as JSON (`{ "entries": [...] }`) to a collector. Each entry is
 * sealed when it is recorded, into this sink's own chain (from seq 1 in every process), so a batch
 * sent again after a lost answer is byte for byte the same and a collector can de-duplicate it by
 * `runId` and `seq`. Network errors, 5xx and 429 are retried with backoff (honouring
 * `Retry-After`); what still cannot be sent stays queued, in order, for the next flush.
 */
export const type = 'http';

/** Backoff between attempts when the collector gives no `Retry-After`: 250 ms, 500 ms, 1 s… */
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 5_000;
/** A `Retry-After` longer than this is not waited for at a journal write: the flush gives up. */
export const MAX_RETRY_AFTER_MS = 30_000;

const httpUrl = (text: string) => {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    url: z
      .string()
      .min(1)
      .refine((url) => !hasPlaceholder(url), 'placeholders are not allowed in an audit sink url: write the URL itself (a token goes in bearerTokenEnv)')
      .refine(httpUrl, 'expected an http:// or https:// URL')
      .describe('Where batches are POSTed (http or https)'),
    headers: z.record(z.string(), z.string()).optional().describe('Plain request headers (use bearerTokenEnv for a token)'),
    bearerTokenEnv: envVarName('Environment variable holding a bearer token sent as Authorization').optional(),
    batchSize: z.number().int().min(1).max(10_000).default(100).describe('Entries per request'),
    timeout: duration('Give up on one request after this long').prefault('5s'),
    retries: z.number().int().min(0).max(10).default(3).describe('Attempts after the first on a network error, 5xx or 429'),
    maxQueued: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(10_000)
      .describe('Entries kept while the collector cannot be reached; beyond it the oldest are dropped, and the next error says how many'),
  })
  .describe('POSTs batches of entries as JSON to a collector, hash-chained');
export type HttpAuditConfig = z.infer<typeof configSchema>;

export interface HttpAuditDeps extends AuditSinkDeps {
  /** Waits between attempts (wall time; injected by tests). */
  sleep?: (ms: number) => Promise<void>;
}

const ignore = () => undefined;

type Attempt = { ok: true } | { ok: false; reason: string; retryable: boolean; retryAfterMs?: number };

export function create(config: HttpAuditConfig, deps: HttpAuditDeps): AuditSink {
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const where = safeUrl(config.url);
  const token = config.bearerTokenEnv ? deps.env?.[config.bearerTokenEnv] : undefined;
  // The queue: sealed entries from `start` on (dropping the oldest moves `start`, not the array).
  let queue: AuditEntry[] = [];
  let start = 0;
  let dropped = 0;
  let head: ChainHead = { seq: 0, hash: null };
  /** After a flush gave up, later ones try once each until one succeeds: a dead collector costs little. */
  let failing = false;
  let writing: Promise<void> = Promise.resolve();

  const queued = () => queue.length - start;
  const compact = () => {
    if (start === queue.length || (start > 1024 && start * 2 > queue.length)) {
      queue = queue.slice(start);
      start = 0;
    }
  };
  const enforceCap = () => {
    const excess = queued() - config.maxQueued;
    if (excess <= 0) return;
    start += excess;
    dropped += excess;
    compact();
  };

  const request = (): { url: URL; headers: Headers } => {
    if (config.bearerTokenEnv && !token) throw new Error(`environment variable ${config.bearerTokenEnv} is not set (bearerTokenEnv)`);
    const url = new URL(config.url);
    const headers = new Headers({ 'content-type': 'application/json', 'user-agent': 'rollgate-audit' });
    for (const [name, value] of Object.entries(config.headers ?? {})) headers.set(name, value);
    if (url.username || url.password) {
      // fetch refuses credentials in URLs: send them as Basic auth, as curl does.
      const basic = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers.set('authorization', `Basic ${Buffer.from(basic).toString('base64')}`);
      url.username = '';
      url.password = '';
    }
    if (token) headers.set('authorization', `Bearer ${token}`);
    return { url, headers };
  };

  const attempt = async (url: URL, headers: Headers, body: string): Promise<Attempt> => {
    try {
      const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(config.timeout) });
      // The answer's body is never read: it could echo a credential into an error message.
      await response.body?.cancel().catch(ignore);
      if (response.ok) return { ok: true };
      const status = response.status;
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      return {
        ok: false,
        reason: `answered ${status}`,
        retryable: status === 429 || status >= 500,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') return { ok: false, reason: `no answer within ${formatLimit(config.timeout)}`, retryable: true };
      return { ok: false, reason: `request failed: ${describeFetchError(err)}`, retryable: true };
    }
  };

  /** Sends one batch, retrying; throws a message (no URL) when it gives up. */
  const post = async (url: URL, headers: Headers, batch: AuditEntry[]): Promise<void> => {
    const body = JSON.stringify({ entries: batch });
    const attempts = failing ? 1 : config.retries + 1;
    for (let n = 1; ; n++) {
      const result = await attempt(url, headers, body);
      if (result.ok) return;
      const tries = `${n} attempt${n === 1 ? '' : 's'}`;
      if (!result.retryable || n >= attempts) throw new Error(`${result.reason} (${tries})`);
      if (result.retryAfterMs !== undefined && result.retryAfterMs > MAX_RETRY_AFTER_MS) {
        throw new Error(`${result.reason} and asked to retry after ${Math.ceil(result.retryAfterMs / 1000)}s (${tries})`);
      }
      await sleep(result.retryAfterMs ?? Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (n - 1)));
    }
  };

  const send = async () => {
    let remaining = queued();
    try {
      const { url, headers } = request();
      while (remaining > 0 && queued() > 0) {
        // The batch leaves the queue while in flight, so the cap never drops what is being sent.
        const batch = queue.slice(start, start + Math.min(config.batchSize, remaining));
        start += batch.length;
        try {
          await post(url, headers, batch);
        } catch (err) {
          queue = [...batch, ...queue.slice(start)];
          start = 0;
          enforceCap();
          throw err;
        }
        remaining -= batch.length;
        compact();
      }
    } catch (err) {
      failing = true;
      throw new ProviderError(`audit http ${where}: ${errorMessage(err)}; ${queued()} entries kept for the next flush${takeDropped()}`, {
        cause: err,
        retryable: true,
      });
    }
    failing = false;
    const lost = takeDropped();
    if (lost) throw new ProviderError(`audit http ${where}: every queued entry was sent${lost}`);
  };

  const takeDropped = () => {
    if (dropped === 0) return '';
    const note = `; ${dropped} older entr${dropped === 1 ? 'y was' : 'ies were'} dropped (more than ${config.maxQueued} queued)`;
    dropped = 0;
    return note;
  };

  return {
    type,
    record(entry) {
      const sealed = seal(entry, head, deps.hmacKey);
      head = { seq: sealed.seq, hash: sealed.hash };
      queue.push(sealed);
      enforceCap();
    },
    flush() {
      // Sends what is queued when this flush's turn comes (entries a failed flush put back go
      // first); entries recorded while it sends wait for the next flush.
      writing = writing.catch(ignore).then(() => (queued() === 0 ? undefined : send()));
      return writing;
    },
  };
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The URL without user info or query string, for messages. */
export function safeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

export function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return cause?.message ?? errorMessage(err);
}
