import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { testAuditEntry } from '../testing/audit.js';
import { fakeDeps } from '../testing/fakes.js';
import type { AuditEntry } from './entry.js';
import { configSchema, create } from './http.js';
import { redactor } from './http-request.js';

/*
 * The end of a run with an http audit sink: the last flush is bounded (a slow or rate-limited
 * collector cannot hold the process), and what it could not deliver is kept in a spool file that
 * the warning names. And no message of the sink quotes a credential.
 */
const entry = testAuditEntry;

type Reply = { status: number; headers?: Record<string, string> } | 'hold';

const servers: Server[] = [];
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-http-drain-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await rm(dir, { recursive: true, force: true });
});

/** A collector on 127.0.0.1: `reply` answers each request (from 1), or holds it unanswered. */
async function collector(reply: (n: number) => Reply) {
  const bodies: AuditEntry[][] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entries: AuditEntry[] }).entries);
      const r = reply(bodies.length);
      if (r === 'hold') held.push(res);
      else res.writeHead(r.status, r.headers).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
  const arrived = async (n: number) => {
    while (bodies.length < n) await new Promise((r) => setTimeout(r, 2));
  };
  return { url, bodies, arrived };
}

/** The sink with its waits and its drain clock in the test's hands. */
function sink(config: Partial<z.input<typeof configSchema>> & { url: string }, env: Record<string, string> = {}) {
  const drain = new AbortController();
  const sleeps: number[] = [];
  const timers: number[] = [];
  const s = create(configSchema.parse({ type: 'http', spoolDir: join(dir, 'spool'), ...config }), {
    ...fakeDeps({ runId: 'web-1' }),
    env,
    // Waiting for a retry is where the time goes: here it ends the drain's time at once.
    sleep: async (ms) => {
      sleeps.push(ms);
      drain.abort();
    },
    timer: (ms) => {
      timers.push(ms);
      return drain.signal;
    },
  });
  return { sink: s, drain, sleeps, timers, spool: join(dir, 'spool', 'web-1.undelivered.jsonl') };
}

const never = () => new AbortController().signal;
const spooled = async (path: string) => (await readFile(path, 'utf8')).trim().split('\n');

describe('http audit sink: the last flush', () => {
  it('stops at the drain deadline instead of waiting out a rate-limited collector, and keeps what is left in the spool file', async () => {
    const c = await collector(() => ({ status: 429, headers: { 'retry-after': '20' } }));
    const { sink: s, sleeps, timers, spool } = sink({ url: c.url, drainTimeout: '3s' });
    for (let i = 1; i <= 5; i++) s.record(entry(i));
    const report = await s.close(never());
    expect(timers).toEqual([3000]);
    expect(sleeps).toEqual([20_000]);
    expect(report).toEqual({ undelivered: 5, dropped: 0, keptIn: spool, error: 'answered 429, then stopped at the drain deadline (1 attempt)' });
    // The spool holds the entries exactly as they were sent: the collector can take them later.
    expect(await spooled(spool)).toEqual(c.bodies[0]?.map((e) => JSON.stringify(e)));
    expect(s.queued).toBe(5);
  });

  it('abandons a request the collector holds when the deadline passes, and stops a journal-write flush in flight too', async () => {
    const c = await collector(() => 'hold');
    const { sink: s, drain, spool } = sink({ url: c.url });
    s.record(entry(1));
    s.record(entry(2));
    const journalWrite = s.flush();
    await c.arrived(1);
    expect(s.queued).toBe(2);
    s.record(entry(3));
    const closing = s.close(never());
    drain.abort();
    await expect(journalWrite).rejects.toThrow(/: stopped at the drain deadline \(1 attempt\); 3 entries kept for the next flush$/);
    expect(await closing).toEqual({ undelivered: 3, dropped: 0, keptIn: spool, error: 'stopped at the drain deadline (1 attempt)' });
    expect((await spooled(spool)).map((l) => (JSON.parse(l) as AuditEntry).eventSeq)).toEqual([1, 2, 3]);
  });

  it('bounds its drain by drainTimeout on its own, on the wall clock', async () => {
    const c = await collector(() => 'hold');
    const s = create(configSchema.parse({ type: 'http', url: c.url, drainTimeout: '50ms', spoolDir: join(dir, 'spool') }), fakeDeps({ runId: 'web-1' }));
    s.record(entry(1));
    expect(await s.close(never())).toMatchObject({ undelivered: 1, error: 'stopped at the drain deadline (1 attempt)' });
  });

  it('sends nothing when the deadline passed before the last flush began: it all goes to the spool', async () => {
    const c = await collector(() => ({ status: 200 }));
    const { sink: s, spool } = sink({ url: c.url });
    s.record(entry(1));
    expect(await s.close(AbortSignal.abort())).toEqual({ undelivered: 1, dropped: 0, keptIn: spool, error: 'stopped at the drain deadline' });
    expect(c.bodies).toEqual([]);
  });

  it('spools nothing when everything was delivered, and appends when a resumed run spools again', async () => {
    const c = await collector((n) => (n === 1 ? { status: 200 } : { status: 503 }));
    const first = sink({ url: c.url });
    first.sink.record(entry(1));
    expect(await first.sink.close(never())).toEqual({ undelivered: 0, dropped: 0 });
    await expect(stat(first.spool)).rejects.toThrow(/ENOENT/);
    const resumed = sink({ url: c.url, retries: 0 });
    resumed.sink.record(entry(2));
    expect(await resumed.sink.close(never())).toMatchObject({ undelivered: 1, error: 'answered 503 (1 attempt)' });
    const again = sink({ url: c.url, retries: 0 });
    again.sink.record(entry(3));
    await again.sink.close(never());
    expect((await spooled(first.spool)).map((l) => (JSON.parse(l) as AuditEntry).eventSeq)).toEqual([2, 3]);
  });

  it('spools megabytes of entries in chunks, each entry whole on its line', async () => {
    const c = await collector(() => ({ status: 503 }));
    const { sink: s, spool } = sink({ url: c.url, retries: 0 });
    for (let i = 1; i <= 5; i++) s.record(entry(i, { message: String(i).repeat(600 * 1024) }));
    expect(await s.close(never())).toMatchObject({ undelivered: 5, keptIn: spool });
    expect((await spooled(spool)).map((l) => (JSON.parse(l) as AuditEntry).message.length)).toEqual([1, 2, 3, 4, 5].map(() => 600 * 1024));
  });

  it('says so, with the count, when the spool cannot be written either', async () => {
    const c = await collector(() => ({ status: 503 }));
    await writeFile(join(dir, 'spool'), '');
    const { sink: s, spool } = sink({ url: c.url, retries: 0 });
    s.record(entry(1));
    s.record(entry(2));
    expect(await s.close(never())).toEqual({
      undelivered: 2,
      dropped: 0,
      error: expect.stringMatching(new RegExp(`^answered 503 \\(1 attempt\\); they could not be kept in ${spool} either: EEXIST`)) as unknown,
    });
  });

  it('reports the entries it dropped over maxQueued during the run', async () => {
    let down = true;
    const c = await collector(() => (down ? { status: 500 } : { status: 200 }));
    const { sink: s } = sink({ url: c.url, retries: 0, maxQueued: 2 });
    for (let i = 1; i <= 5; i++) s.record(entry(i));
    await expect(s.flush()).rejects.toThrow(/3 older entries were dropped/);
    down = false;
    expect(await s.close(never())).toEqual({ undelivered: 0, dropped: 3 });
  });
});

describe('http audit sink: open', () => {
  it('does not call the collector, and makes sure undelivered entries can be kept', async () => {
    const c = await collector(() => ({ status: 200 }));
    const { sink: s } = sink({ url: c.url });
    await s.open();
    expect((await stat(join(dir, 'spool'))).isDirectory()).toBe(true);
    expect(c.bodies).toEqual([]);
    await writeFile(join(dir, 'taken'), '');
    const { sink: blocked } = sink({ url: `${c.url}?key=q-SECRET`, spoolDir: join(dir, 'taken') });
    const err = await blocked.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toBe(`audit http ${c.url}: undelivered entries cannot be kept in ${join(dir, 'taken')}: EEXIST: file already exists, mkdir '${join(dir, 'taken')}'`);
  });
});

describe('http audit sink: no credential in any message', () => {
  it('never quotes a bearer token or a header value that is not a valid header value', async () => {
    const c = await collector(() => ({ status: 200 }));
    const token = 'tok-SECRET-1234\r\nX-Injected: 1';
    const { sink: s } = sink({ url: c.url, bearerTokenEnv: 'AUDIT_TOKEN' }, { AUDIT_TOKEN: token });
    s.record(entry(1));
    const err = await s.flush().then(
      () => undefined,
      (e: unknown) => e as ProviderError,
    );
    expect(err?.message).toBe(
      `audit http ${c.url}: the token in AUDIT_TOKEN is not a valid HTTP header value (it holds a line break, or a character outside Latin-1); 1 entries kept for the next flush`,
    );
    expect(JSON.stringify({ message: err?.message, cause: (err?.cause as Error).message })).not.toContain('SECRET');
    const { sink: h } = sink({ url: c.url, headers: { 'X-Api-Key': 'key-SECRET-\u0100' } });
    h.record(entry(1));
    await expect(h.flush()).rejects.toThrow(
      `audit http ${c.url}: header X-Api-Key is not a valid HTTP header value (it holds a line break, or a character outside Latin-1); 1 entries kept for the next flush`,
    );
    const report = await h.close(never());
    expect(report.error).toBe('header X-Api-Key is not a valid HTTP header value (it holds a line break, or a character outside Latin-1)');
    expect(c.bodies).toEqual([]);
  });

  it('masks the token, the URL user info and query, and header values wherever a message could echo them', () => {
    const redact = redactor(
      { url: 'https://audit%40user:pa%3Ass-word@h.example/in?key=q-SECRET-9', headers: { 'X-Api-Key': 'hdr-SECRET-7', 'X-Short': 'json' }, bearerTokenEnv: 'T' },
      'tok-SECRET-1',
    );
    expect(redact('tok-SECRET-1 audit@user pa:ss-word pa%3Ass-word key=q-SECRET-9 hdr-SECRET-7 json')).toBe('*** *** *** *** *** *** json');
    expect(redactor({ url: 'https://h.example/in' }, undefined)('nothing to hide')).toBe('nothing to hide');
    expect(redactor({ url: 'https://h.example/in?bad=%E0%A4%A' }, undefined)('bad=%E0%A4%A')).toBe('***');
  });
});
