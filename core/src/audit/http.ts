import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { duration, envVarName } from '../config/fields.js';
import { errorMessage, ProviderError } from '../errors.js';
import type { AuditDrainReport, AuditSink, AuditSinkDeps } from '../ports/audit-sink.js';
import { formatLimit } from '../util/command-runner.js';
import { hasPlaceholder } from '../util/template.js';
import { appendLines } from './append.js';
import { type ChainHead, seal } from './chain.js';
import type { AuditEntry } from './entry.js';
import { UNDELIVERED_SUFFIX } from './read-lines.js';
import { describeFetchError, parseRetryAfter, redactor, requestParts, type RequestParts, safeUrl } from './http-request.js';
import { httpFetch } from '../util/http-fetch.js';

export { describeFetchError, parseRetryAfter, safeUrl } from './http-request.js';

/**
 * `http`: batches of entries POSTed as JSON (`{ "entries": [...] }`) to a collector. Each entry is
 * sealed when it is recorded, into this sink's own chain (from seq 1 in every process), so a batch
 * sent again after a lost answer is byte for byte the same and a collector can de-duplicate it by
 * `runId` and `seq`. Network errors, 5xx and 429 are retried with backoff (honouring
 * `Retry-After`); what still cannot be sent stays queued, in order, for the next flush. At the end
 * of the run it sends for at most `drainTimeout`; what is left then is kept in a local spool file.
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
    drainTimeout: duration('At the end of the run, stop sending after this long; what is left is kept in spoolDir').prefault('10s'),
    spoolDir: z
      .string()
      .default('.rollgate/audit')
      .describe('Folder, relative to the working directory, where entries still undelivered at the end of the run are kept (<run-id>.undelivered.jsonl)'),
    bestEffort: z
      .boolean()
      .default(false)
      .describe('When entries cannot be delivered or kept, warn and go on (by default the spool folder must be writable before the run starts)'),
  })
  .describe('POSTs batches of entries as JSON to a collector, hash-chained');
export type HttpAuditConfig = z.infer<typeof configSchema>;

export interface HttpAuditDeps extends AuditSinkDeps {
  /** Waits between attempts (wall time; injected by tests). Resolves early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A signal that aborts after `ms` (wall time): bounds the last flush. Injected by tests. */
  timer?: (ms: number) => AbortSignal;
}

const ignore = () => undefined;

type Attempt = { ok: true } | { ok: false; reason: string; retryable: boolean; retryAfterMs?: number };

/** The drain's deadline passed: not an answer of the collector. */
const STOPPED = 'stopped at the drain deadline';

export function create(config: HttpAuditConfig, deps: HttpAuditDeps): AuditSink {
  const sleep = deps.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }).catch(ignore));
  const timer = deps.timer ?? ((ms: number) => AbortSignal.timeout(ms));
  const where = safeUrl(config.url);
  const token = config.bearerTokenEnv ? deps.env?.[config.bearerTokenEnv] : undefined;
  const redact = redactor(config, token);
  const spoolDir = resolve(config.spoolDir);
  const spool = join(spoolDir, `${deps.runId}${UNDELIVERED_SUFFIX}`);
  // The queue: sealed entries from `start` on (dropping the oldest moves `start`, not the array).
  let queue: AuditEntry[] = [];
  let start = 0;
  let dropped = 0;
  let droppedInRun = 0;
  let inFlight = 0;
  let head: ChainHead = { seq: 0, hash: null };
  /** After a flush gave up, later ones try once each until one succeeds: a dead collector costs little. */
  let failing = false;
  /** Why the last flush gave up, masked. */
  let lastFailure = '';
  let writing: Promise<void> = Promise.resolve();
  /** Aborted at the drain deadline: stops the request in flight and any wait for a retry. */
  const halt = new AbortController();

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
    droppedInRun += excess;
    compact();
  };

  const attempt = async ({ url, headers }: RequestParts, body: string): Promise<Attempt> => {
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(config.timeout), halt.signal]);
      const response = await httpFetch(url, { method: 'POST', headers, body, signal });
      // The answer's body is never read: it could echo a credential into an error message.
      await response.body.cancel();
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
      if (halt.signal.aborted) return { ok: false, reason: STOPPED, retryable: false };
      if ((err as Error).name === 'TimeoutError') return { ok: false, reason: `no answer within ${formatLimit(config.timeout)}`, retryable: true };
      return { ok: false, reason: `request failed: ${describeFetchError(err)}`, retryable: true };
    }
  };

  /** Sends one batch, retrying; throws a message (no URL) when it gives up. */
  const post = async (parts: RequestParts, batch: AuditEntry[]): Promise<void> => {
    const body = JSON.stringify({ entries: batch });
    const attempts = failing ? 1 : config.retries + 1;
    for (let n = 1; ; n++) {
      const result = await attempt(parts, body);
      if (result.ok) return;
      const tries = `${n} attempt${n === 1 ? '' : 's'}`;
      if (!result.retryable || n >= attempts) throw new Error(`${result.reason} (${tries})`);
      if (result.retryAfterMs !== undefined && result.retryAfterMs > MAX_RETRY_AFTER_MS) {
        throw new Error(`${result.reason} and asked to retry after ${Math.ceil(result.retryAfterMs / 1000)}s (${tries})`);
      }
      await sleep(result.retryAfterMs ?? Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (n - 1)), halt.signal);
      if (halt.signal.aborted) throw new Error(`${result.reason}, then ${STOPPED} (${tries})`);
    }
  };

  const send = async () => {
    let remaining = queued();
    try {
      const parts = requestParts(config, token);
      while (remaining > 0 && queued() > 0) {
        // The batch leaves the queue while in flight, so the cap never drops what is being sent.
        const batch = queue.slice(start, start + Math.min(config.batchSize, remaining));
        start += batch.length;
        inFlight = batch.length;
        try {
          await post(parts, batch);
        } catch (err) {
          queue = [...batch, ...queue.slice(start)];
          start = 0;
          enforceCap();
          throw err;
        } finally {
          inFlight = 0;
        }
        remaining -= batch.length;
        compact();
      }
    } catch (err) {
      failing = true;
      lastFailure = redact(errorMessage(err));
      throw new ProviderError(`audit http ${where}: ${lastFailure}; ${queued()} entries kept for the next flush${takeDropped()}`, {
        cause: new Error(lastFailure),
        retryable: true,
      });
    }
    failing = false;
    lastFailure = '';
    const lost = takeDropped();
    if (lost) throw new ProviderError(`audit http ${where}: every queued entry was sent${lost}`);
  };

  const takeDropped = () => {
    if (dropped === 0) return '';
    const note = `; ${dropped} older entr${dropped === 1 ? 'y was' : 'ies were'} dropped (more than ${config.maxQueued} queued)`;
    dropped = 0;
    return note;
  };

  // Sends what is queued when this flush's turn comes (entries a failed flush put back go
  // first); entries recorded while it sends wait for the next flush. After the drain deadline
  // nothing is sent: what is queued goes to the spool.
  const flush = () => {
    writing = writing.catch(ignore).then(() => (queued() === 0 || halt.signal.aborted ? undefined : send()));
    return writing;
  };

  /** What is left at the end goes to the spool file, so that nothing is lost. */
  const keep = async (): Promise<AuditDrainReport> => {
    const left = queue.slice(start);
    const report = { undelivered: left.length, dropped: droppedInRun };
    if (left.length === 0) return report;
    // Nothing failed yet when the deadline had passed before the last flush could start.
    const why = lastFailure || STOPPED;
    try {
      await mkdir(spoolDir, { recursive: true });
      await appendLines(spool, left.map((e) => JSON.stringify(e)));
    } catch (err) {
      return { ...report, error: `${why}; they could not be kept in ${spool} either: ${errorMessage(err)}` };
    }
    return { ...report, keptIn: spool, error: why };
  };

  return {
    type,
    get queued() {
      return queued() + inFlight;
    },
    async open() {
      // The collector is not called: one that is down now may be up by the first journal write,
      // and what it never takes is kept in the spool folder, which must therefore be writable.
      try {
        await mkdir(spoolDir, { recursive: true });
        await access(spoolDir, constants.W_OK);
      } catch (err) {
        throw new ProviderError(`audit http ${where}: undelivered entries cannot be kept in ${spoolDir}: ${errorMessage(err)}`, { cause: err });
      }
    },
    record(entry) {
      const sealed = seal(entry, head, deps.hmacKey);
      head = { seq: sealed.seq, hash: sealed.hash };
      queue.push(sealed);
      enforceCap();
    },
    flush,
    async close(deadline) {
      const stop = AbortSignal.any([deadline, timer(config.drainTimeout)]);
      const onStop = () => halt.abort();
      if (stop.aborted) onStop();
      stop.addEventListener('abort', onStop, { once: true });
      await flush().catch(ignore);
      stop.removeEventListener('abort', onStop);
      return keep();
    },
  };
}
