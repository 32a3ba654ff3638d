import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { testAuditEntry } from '../testing/audit.js';
import type { z } from 'zod';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { fakeDeps } from '../testing/fakes.js';
import { hashOf, hmacOf } from './chain.js';
import { type AuditEntry } from './entry.js';
import { configSchema, create, describeFetchError, MAX_RETRY_AFTER_MS, parseRetryAfter, safeUrl } from './http.js';

const entry = testAuditEntry;

/** Checks the chain of what the collector received and returns the event numbers, in order. */
function received(entries: AuditEntry[], key?: string): number[] {
  let prev: string | null = entries[0]?.prevHash ?? null;
  for (const e of entries) {
    const { hash, hmac, ...body } = e;
    expect(e.prevHash).toBe(prev);
    expect(hashOf(body)).toBe(hash);
    expect(hmac).toBe(key ? hmacOf(hash, key) : undefined);
    prev = hash;
  }
  return entries.map((e) => e.eventSeq);
}

interface Request {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  raw: string;
  entries: AuditEntry[];
}
type Reply = { status: number; headers?: Record<string, string> } | 'hang' | 'reset';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A collector on 127.0.0.1 that answers request n (from 1) as `reply` says, and keeps every request. */
async function collector(reply: (n: number, req: Request) => Reply = () => ({ status: 200 })) {
  const requests: Request[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const request: Request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, entries: (JSON.parse(raw) as { entries: AuditEntry[] }).entries };
      requests.push(request);
      const r = reply(requests.length, request);
      if (r === 'hang') return;
      if (r === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(r.status, r.headers);
      res.end(r.status === 204 ? undefined : 'echo: Bearer tok-SECRET-1234567');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return { base, url: `${base}/ingest`, requests, port };
}

/** A collector that holds every request until the test answers it: `next()` waits for one. */
async function heldCollector() {
  const requests: number[][] = [];
  const waiting: ((status: number) => void)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      requests.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entries: AuditEntry[] }).entries.map((e) => e.eventSeq));
      waiting.push((status) => res.writeHead(status).end());
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  /** Answers the next request with `status`, once it has arrived. */
  const answer = async (status: number) => {
    while (waiting.length === 0) await new Promise((r) => setTimeout(r, 5));
    (waiting.shift() as (status: number) => void)(status);
  };
  return { url, requests, answer };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const TOKEN = 'tok-SECRET-1234567';

function sink(config: Partial<z.input<typeof configSchema>> & { url: string }, extra: { env?: Record<string, string>; hmacKey?: string; realSleep?: boolean } = {}) {
  const sleeps: number[] = [];
  const parsed = configSchema.parse({ type: 'http', ...config });
  const s = create(parsed, {
    ...fakeDeps(),
    ...(extra.env ? { env: extra.env } : {}),
    ...(extra.hmacKey ? { hmacKey: extra.hmacKey } : {}),
    ...(extra.realSleep ? {} : { sleep: async (ms: number) => void sleeps.push(ms) }),
  });
  return { sink: s, sleeps };
}

const failure = async (p: Promise<void>): Promise<ProviderError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
};

describe('http audit sink: settings', () => {
  it('has defaults: 100 per batch, 5s, 3 retries, 10,000 queued, a 10s drain spooled to .rollgate/audit, not best-effort', () => {
    expect(configSchema.parse({ type: 'http', url: 'https://audit.example.com/in' })).toEqual({
      type: 'http',
      url: 'https://audit.example.com/in',
      batchSize: 100,
      timeout: 5000,
      retries: 3,
      maxQueued: 10_000,
      drainTimeout: 10_000,
      spoolDir: '.rollgate/audit',
      bestEffort: false,
    });
  });

  it('refuses placeholders, other schemes, text that is no URL and secret values in place of a variable name', () => {
    const issues = (c: Record<string, unknown>) => configSchema.safeParse({ type: 'http', ...c }).error?.issues.map((i) => i.message) ?? [];
    expect(issues({ url: 'https://{{ vars.HOST }}/in' })[0]).toMatch(/placeholders are not allowed/);
    expect(issues({ url: 'ftp://host/in' })).toEqual(['expected an http:// or https:// URL']);
    expect(issues({ url: 'not a url' })).toEqual(['expected an http:// or https:// URL']);
    expect(issues({ url: 'https://h/in', bearerTokenEnv: 'tok-123 456' })[0]).toMatch(/environment variable name/);
    expect(issues({ url: 'https://h/in', batchSize: 0 })).toHaveLength(1);
    expect(issues({ url: 'https://h/in', headers: { 'x-a': 'b' }, timeout: '250ms', retries: 0 })).toEqual([]);
  });

  it('reads Retry-After as seconds or a date', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter(' 3 ')).toBe(3000);
    expect(parseRetryAfter(new Date(now + 7000).toUTCString(), now)).toBe(7000);
    expect(parseRetryAfter(new Date(now - 7000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('names a URL without credentials or query', () => {
    expect(safeUrl('https://user:pw@audit.example.com:8443/in/x?token=abc#f')).toBe('https://audit.example.com:8443/in/x');
  });

  it('describes fetch errors by their cause', () => {
    expect(describeFetchError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).toBe('connection refused (nothing listens there)');
    expect(describeFetchError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND x' } }))).toBe(
      'ENOTFOUND (getaddrinfo ENOTFOUND x)',
    );
    expect(describeFetchError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'EAI_AGAIN' } }))).toBe('EAI_AGAIN');
    expect(describeFetchError(Object.assign(new TypeError('fetch failed'), { cause: { message: 'other side closed' } }))).toBe('other side closed');
    expect(describeFetchError(new TypeError('fetch failed'))).toBe('fetch failed');
    expect(describeFetchError('text')).toBe('text');
  });
});

describe('http audit sink against a collector on 127.0.0.1', () => {
  it('POSTs the entries as JSON, one chain, nothing when there is nothing new', async () => {
    const c = await collector();
    const { sink: s } = sink({ url: c.url });
    expect(s.type).toBe('http');
    s.record(entry(1));
    s.record(entry(2));
    await s.flush();
    await s.flush();
    s.record(entry(3));
    await s.flush();
    expect(c.requests).toHaveLength(2);
    expect(c.requests[0]).toMatchObject({ method: 'POST', url: '/ingest' });
    expect(c.requests[0]?.headers['content-type']).toBe('application/json');
    expect(c.requests[0]?.headers['user-agent']).toBe('rollgate-audit');
    expect(c.requests[0]?.headers.authorization).toBeUndefined();
    expect(Object.keys(JSON.parse(c.requests[0]?.raw ?? '{}') as object)).toEqual(['entries']);
    const all = c.requests.flatMap((r) => r.entries);
    expect(received(all)).toEqual([1, 2, 3]);
    expect(all[0]).toMatchObject({ seq: 1, prevHash: null });
  });

  it('sends batches of batchSize, in order; accepts 204; signs with the key', async () => {
    const c = await collector(() => ({ status: 204 }));
    const { sink: s } = sink({ url: c.url, batchSize: 2 }, { hmacKey: 'k3y' });
    for (let i = 1; i <= 5; i++) s.record(entry(i));
    await s.flush();
    expect(c.requests.map((r) => r.entries.length)).toEqual([2, 2, 1]);
    expect(received(c.requests.flatMap((r) => r.entries), 'k3y')).toEqual([1, 2, 3, 4, 5]);
  });

  it('sends the configured headers', async () => {
    const c = await collector();
    const { sink: s } = sink({ url: c.url, headers: { 'X-Tenant': 'acme', 'Content-Type': 'application/vnd.audit+json' } });
    s.record(entry(1));
    await s.flush();
    expect(c.requests[0]?.headers['x-tenant']).toBe('acme');
    expect(c.requests[0]?.headers['content-type']).toBe('application/vnd.audit+json');
  });

  it('retries a 503 with backoff, sending the same bytes again', async () => {
    const c = await collector((n) => (n === 1 ? { status: 503 } : { status: 200 }));
    const { sink: s, sleeps } = sink({ url: c.url });
    s.record(entry(1));
    s.record(entry(2));
    await s.flush();
    expect(c.requests).toHaveLength(2);
    expect(c.requests[1]?.raw).toBe(c.requests[0]?.raw);
    expect(sleeps).toEqual([250]);
  });

  it('waits as long as a 429 asks in Retry-After (seconds)', async () => {
    const c = await collector((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const { sink: s, sleeps } = sink({ url: c.url });
    s.record(entry(1));
    await s.flush();
    expect(sleeps).toEqual([1000]);
    expect(c.requests).toHaveLength(2);
  });

  it('takes Retry-After over its own backoff', async () => {
    const c = await collector((n) => (n <= 2 ? { status: 429, headers: { 'retry-after': String(n * 2) } } : { status: 200 }));
    const { sink: s, sleeps } = sink({ url: c.url });
    s.record(entry(1));
    await s.flush();
    expect(sleeps).toEqual([2000, 4000]);
  });

  it('gives up at once when Retry-After asks for longer than a journal write may wait', async () => {
    const c = await collector(() => ({ status: 429, headers: { 'retry-after': String(MAX_RETRY_AFTER_MS / 1000 + 90) } }));
    const { sink: s, sleeps } = sink({ url: c.url });
    s.record(entry(1));
    const err = await failure(s.flush());
    expect(err.message).toBe(`audit http ${c.url}: answered 429 and asked to retry after 120s (1 attempt); 1 entries kept for the next flush`);
    expect(sleeps).toEqual([]);
  });

  it('gives up on a permanent 500 naming the URL and the status, keeps the entries, and sends them in order once it recovers', async () => {
    let down = true;
    const c = await collector(() => (down ? { status: 500 } : { status: 200 }));
    const { sink: s, sleeps } = sink({ url: c.url, batchSize: 2 });
    s.record(entry(1));
    s.record(entry(2));
    s.record(entry(3));
    const err = await failure(s.flush());
    expect(err.message).toBe(`audit http ${c.url}: answered 500 (4 attempts); 3 entries kept for the next flush`);
    expect(err.retryable).toBe(true);
    expect(sleeps).toEqual([250, 500, 1000]);
    expect(c.requests).toHaveLength(4);
    // Still down: a later flush tries once, so a dead collector does not hold every journal write.
    s.record(entry(4));
    await expect(s.flush()).rejects.toThrow(`audit http ${c.url}: answered 500 (1 attempt); 4 entries kept for the next flush`);
    expect(c.requests).toHaveLength(5);
    down = false;
    s.record(entry(5));
    await s.flush();
    const accepted = c.requests.slice(5).flatMap((r) => r.entries);
    expect(received(accepted)).toEqual([1, 2, 3, 4, 5]);
    expect(accepted[0]).toMatchObject({ seq: 1, prevHash: null });
    // Recovered: full retries again.
    down = true;
    s.record(entry(6));
    await expect(s.flush()).rejects.toThrow(/\(4 attempts\)/);
  });

  it('does not retry a 4xx other than 429', async () => {
    const c = await collector(() => ({ status: 400 }));
    const { sink: s, sleeps } = sink({ url: c.url });
    s.record(entry(1));
    const err = await failure(s.flush());
    expect(err.message).toBe(`audit http ${c.url}: answered 400 (1 attempt); 1 entries kept for the next flush`);
    expect(sleeps).toEqual([]);
  });

  it('keeps what the collector did not take when a later batch fails', async () => {
    const c = await collector((n) => (n === 2 ? { status: 400 } : { status: 200 }));
    const { sink: s } = sink({ url: c.url, batchSize: 2 });
    for (let i = 1; i <= 5; i++) s.record(entry(i));
    await expect(s.flush()).rejects.toThrow(/3 entries kept/);
    await s.flush();
    expect(c.requests.map((r) => r.entries.map((e) => e.eventSeq))).toEqual([[1, 2], [3, 4], [3, 4], [5]]);
  });

  it('times out a collector that does not answer, and retries it', async () => {
    const c = await collector(() => 'hang');
    const { sink: s } = sink({ url: c.url, timeout: '200ms', retries: 1 });
    s.record(entry(1));
    const err = await failure(s.flush());
    expect(err.message).toBe(`audit http ${c.url}: no answer within 200ms (2 attempts); 1 entries kept for the next flush`);
    expect(c.requests).toHaveLength(2);
  });

  it('retries network errors: connection refused, connection reset', async () => {
    const port = await closedPort();
    const { sink: s, sleeps } = sink({ url: `http://127.0.0.1:${port}/ingest`, retries: 2 });
    s.record(entry(1));
    const err = await failure(s.flush());
    expect(err.message).toBe(`audit http http://127.0.0.1:${port}/ingest: request failed: connection refused (nothing listens there) (3 attempts); 1 entries kept for the next flush`);
    expect(sleeps).toEqual([250, 500]);

    const c = await collector((n) => (n === 1 ? 'reset' : { status: 200 }));
    const { sink: r } = sink({ url: c.url });
    r.record(entry(1));
    await r.flush();
    expect(c.requests).toHaveLength(2);
  });

  it('sends the bearer token from the environment, and never names it in an error', async () => {
    const c = await collector(() => ({ status: 500 }));
    const { sink: s } = sink({ url: c.url, bearerTokenEnv: 'AUDIT_TOKEN', retries: 1 }, { env: { AUDIT_TOKEN: TOKEN } });
    s.record(entry(1));
    const err = await failure(s.flush());
    expect(c.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(err.message).not.toContain(TOKEN);
    expect(err.message).not.toContain('SECRET');
    expect(JSON.stringify(err)).not.toContain(TOKEN);
    expect(String((err.cause as Error).message)).not.toContain(TOKEN);
  });

  it('fails every flush, keeping the entries, while the token variable is not set', async () => {
    const c = await collector();
    const { sink: s } = sink({ url: c.url, bearerTokenEnv: 'AUDIT_TOKEN' });
    s.record(entry(1));
    await expect(s.flush()).rejects.toThrow(`audit http ${c.url}: environment variable AUDIT_TOKEN is not set (bearerTokenEnv); 1 entries kept for the next flush`);
    const { sink: empty } = sink({ url: c.url, bearerTokenEnv: 'AUDIT_TOKEN' }, { env: { AUDIT_TOKEN: '' } });
    empty.record(entry(1));
    await expect(empty.flush()).rejects.toThrow(/AUDIT_TOKEN is not set/);
    expect(c.requests).toHaveLength(0);
  });

  it('sends credentials in the URL as Basic auth and names the URL without them or its query', async () => {
    const c = await collector(() => ({ status: 503 }));
    const url = `http://audit%40user:pa%3Ass@127.0.0.1:${c.port}/ingest?key=q-SECRET`;
    const { sink: s } = sink({ url, retries: 0 });
    s.record(entry(1));
    const err = await failure(s.flush());
    expect(c.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('audit@user:pa:ss').toString('base64')}`);
    expect(c.requests[0]?.url).toBe('/ingest?key=q-SECRET');
    expect(err.message).toBe(`audit http ${c.url}: answered 503 (1 attempt); 1 entries kept for the next flush`);
    // A bearer token wins over URL credentials.
    const { sink: both } = sink({ url, bearerTokenEnv: 'T', retries: 0 }, { env: { T: TOKEN } });
    both.record(entry(1));
    await expect(both.flush()).rejects.toThrow(ProviderError);
    expect(c.requests[1]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('keeps the order when a flush fails while another one is queued', async () => {
    let down = true;
    const c = await collector(() => (down ? { status: 500 } : { status: 200 }));
    const { sink: s } = sink({ url: c.url, retries: 0 });
    s.record(entry(1));
    const a = s.flush();
    s.record(entry(2));
    const b = s.flush();
    // Each flush sends what is queued when its turn comes: both tried [1, 2], in that order.
    await expect(a).rejects.toThrow(/2 entries kept/);
    await expect(b).rejects.toThrow(/2 entries kept/);
    down = false;
    await s.flush();
    expect(c.requests.map((r) => r.entries.map((e) => e.eventSeq))).toEqual([[1, 2], [1, 2], [1, 2]]);
    expect(received(c.requests[2]?.entries ?? [])).toEqual([1, 2]);
  });

  it('keeps the order when a batch in flight fails while newer entries and another flush wait', async () => {
    const c = await heldCollector();
    const { sink: s } = sink({ url: c.url, retries: 0 });
    s.record(entry(1));
    const a = s.flush();
    while (c.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    s.record(entry(2));
    const b = s.flush();
    await c.answer(500);
    await expect(a).rejects.toThrow(/2 entries kept/);
    await c.answer(200);
    await b;
    expect(c.requests).toEqual([[1], [1, 2]]);
  });

  describe('the queue cap', () => {
    it('drops the oldest beyond maxQueued and says how many in the next error', async () => {
      let down = true;
      const c = await collector(() => (down ? { status: 500 } : { status: 200 }));
      const { sink: s } = sink({ url: c.url, retries: 0, maxQueued: 3 });
      for (let i = 1; i <= 5; i++) s.record(entry(i));
      const err = await failure(s.flush());
      expect(err.message).toBe(`audit http ${c.url}: answered 500 (1 attempt); 3 entries kept for the next flush; 2 older entries were dropped (more than 3 queued)`);
      s.record(entry(6));
      await expect(s.flush()).rejects.toThrow(`answered 500 (1 attempt); 3 entries kept for the next flush; 1 older entry was dropped (more than 3 queued)`);
      down = false;
      await s.flush();
      const sent = c.requests.at(-1)?.entries ?? [];
      // The chain shows the gap: the collector can tell entries are missing.
      expect(sent.map((e) => [e.eventSeq, e.seq])).toEqual([
        [4, 4],
        [5, 5],
        [6, 6],
      ]);
      expect(received(sent)).toEqual([4, 5, 6]);
    });

    it('reports drops even when everything left was sent', async () => {
      const c = await collector();
      const { sink: s } = sink({ url: c.url, maxQueued: 2 });
      for (let i = 1; i <= 5; i++) s.record(entry(i));
      await expect(s.flush()).rejects.toThrow(`audit http ${c.url}: every queued entry was sent; 3 older entries were dropped (more than 2 queued)`);
      expect(c.requests.flatMap((r) => r.entries.map((e) => e.eventSeq))).toEqual([4, 5]);
      await s.flush();
      expect(c.requests).toHaveLength(1);
    });

    it('never drops the batch in flight; a failed batch put back counts against the cap', async () => {
      const c = await heldCollector();
      const { sink: s } = sink({ url: c.url, retries: 0, maxQueued: 3, batchSize: 2 });
      for (let i = 1; i <= 3; i++) s.record(entry(i));
      const flushed = s.flush();
      while (c.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      // [1, 2] are in flight: 4 and 5 fit under the cap beside 3.
      s.record(entry(4));
      s.record(entry(5));
      await c.answer(500);
      const err = await failure(flushed);
      expect(err.message).toMatch(/3 entries kept for the next flush; 2 older entries were dropped/);
      const next = s.flush();
      await c.answer(200);
      await c.answer(200);
      await next;
      expect(c.requests).toEqual([[1, 2], [3, 4], [5]]);
    });

    it('stays bounded over a long outage and compacts its queue', async () => {
      let down = true;
      const c = await collector(() => (down ? { status: 500 } : { status: 200 }));
      const { sink: s } = sink({ url: c.url, retries: 0, maxQueued: 100, batchSize: 1000 });
      for (let i = 1; i <= 5000; i++) s.record(entry(i));
      await expect(s.flush()).rejects.toThrow(/100 entries kept for the next flush; 4900 older entries were dropped/);
      down = false;
      for (let i = 5001; i <= 5050; i++) s.record(entry(i));
      await expect(s.flush()).rejects.toThrow(/50 older entries were dropped/);
      expect(c.requests.at(-1)?.entries.map((e) => e.eventSeq)).toEqual(Array.from({ length: 100 }, (_, i) => 4951 + i));
    });
  });
});
