import { PassThrough, Writable } from 'node:stream';
import { assertChain, testAuditEntry } from '../testing/audit.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProviderError } from '../errors.js';
import { fakeDeps } from '../testing/fakes.js';
import { type AuditEntry } from './entry.js';
import { configSchema, create } from './stdout.js';

const entry = testAuditEntry;

const checkChain = (lines: string[], key?: string): AuditEntry[] => assertChain(lines.map((l) => JSON.parse(l) as AuditEntry), key);

/** A stream that keeps what it was given, one chunk per write. */
function collector() {
  const chunks: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  const lines = () => chunks.join('').split('\n').filter((l) => l !== '');
  return { stream, chunks, lines };
}

const sink = (stream?: NodeJS.WritableStream, hmacKey?: string) =>
  create(configSchema.parse({ type: 'stdout' }), { ...fakeDeps(), ...(stream ? { stream } : {}), ...(hmacKey ? { hmacKey } : {}) });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('stdout audit sink', () => {
  it('takes no settings but bestEffort', () => {
    expect(configSchema.parse({ type: 'stdout' })).toEqual({ type: 'stdout', bestEffort: false });
    expect(configSchema.safeParse({ type: 'stdout', dir: 'x' }).success).toBe(false);
  });

  it('writes nothing until flushed, then every entry as one JSON line, in one write per flush', async () => {
    const out = collector();
    const s = sink(out.stream);
    expect(s.type).toBe('stdout');
    s.record(entry(1));
    s.record(entry(2));
    await new Promise((r) => setImmediate(r));
    expect(out.chunks).toEqual([]);
    await s.flush();
    await s.flush(); // nothing new: no write
    s.record(entry(3));
    await s.flush();
    await new Promise((r) => setImmediate(r));
    expect(out.chunks).toHaveLength(2);
    expect(out.chunks.every((c) => c.endsWith('\n'))).toBe(true);
    expect(checkChain(out.lines()).map((e) => e.eventSeq)).toEqual([1, 2, 3]);
  });

  it('signs entries with the key when one is configured', async () => {
    const out = collector();
    const s = sink(out.stream, 'k3y-value');
    s.record(entry(1));
    s.record(entry(2));
    await s.flush();
    await new Promise((r) => setImmediate(r));
    checkChain(out.lines(), 'k3y-value');
  });

  it('starts its own chain at seq 1 in every process (every new sink)', async () => {
    const a = collector();
    const b = collector();
    const first = sink(a.stream);
    first.record(entry(1));
    await first.flush();
    const second = sink(b.stream);
    second.record(entry(2));
    await second.flush();
    await new Promise((r) => setImmediate(r));
    expect(checkChain(b.lines())[0]).toMatchObject({ seq: 1, prevHash: null, eventSeq: 2 });
  });

  it('writes to standard output by default', async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string, cb?: (err?: Error | null) => void) => {
      written.push(chunk);
      cb?.();
      return true;
    }) as typeof process.stdout.write);
    const s = sink();
    s.record(entry(1));
    await s.flush();
    expect(written).toHaveLength(1);
    expect(checkChain(written[0]?.trim().split('\n') ?? [])[0]?.eventSeq).toBe(1);
  });

  it('resolves only once the stream has taken the lines (backpressure)', async () => {
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 1,
      write(_chunk, _enc, cb) {
        release = cb;
      },
    });
    const s = sink(slow);
    s.record(entry(1));
    let done = false;
    const flushed = s.flush().then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    release?.();
    await flushed;
    expect(done).toBe(true);
  });

  describe('a failed write', () => {
    /** A stream-like object whose writes fail while `failing` is set. */
    function flaky(mode: 'callback' | 'throw') {
      const written: string[] = [];
      const state = { failing: true };
      const stream = {
        write(text: string, cb: (err?: Error | null) => void) {
          if (state.failing && mode === 'throw') throw new Error('stream is closed');
          if (state.failing) {
            cb(new Error('EPIPE: broken pipe'));
            return false;
          }
          written.push(text);
          cb();
          return true;
        },
        on() {
          return stream;
        },
        off() {
          return stream;
        },
      };
      return { stream: stream as unknown as NodeJS.WritableStream, written, state };
    }

    it('is a ProviderError; the entries are kept and written in order by the next flush', async () => {
      const f = flaky('callback');
      const s = sink(f.stream);
      s.record(entry(1));
      s.record(entry(2));
      const err = await s.flush().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as Error).message).toBe('audit stdout: write failed: EPIPE: broken pipe; 2 entries kept for the next flush');
      s.record(entry(3));
      f.state.failing = false;
      await s.flush();
      expect(checkChain(f.written.join('').trim().split('\n')).map((e) => e.eventSeq)).toEqual([1, 2, 3]);
    });

    it('turns a write that throws into the same error', async () => {
      const f = flaky('throw');
      const s = sink(f.stream);
      s.record(entry(1));
      await expect(s.flush()).rejects.toThrow('audit stdout: write failed: stream is closed; 1 entries kept for the next flush');
      f.state.failing = false;
      await s.flush();
      expect(f.written).toHaveLength(1);
    });

    it('keeps the order when a flush fails while another one is queued', async () => {
      const f = flaky('callback');
      const s = sink(f.stream);
      s.record(entry(1));
      const a = s.flush();
      s.record(entry(2));
      const b = s.flush();
      await expect(a).rejects.toThrow(/EPIPE/);
      await expect(b).rejects.toThrow(/2 entries kept/);
      f.state.failing = false;
      await s.flush();
      expect(checkChain(f.written.join('').trim().split('\n')).map((e) => e.eventSeq)).toEqual([1, 2]);
    });

    it("does not crash the process with the stream's 'error' event, and leaves no listener behind", async () => {
      const broken = new Writable({
        write(_chunk, _enc, cb) {
          cb(new Error('EPIPE: broken pipe'));
        },
      });
      const s = sink(broken);
      s.record(entry(1));
      await expect(s.flush()).rejects.toThrow(/EPIPE/);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(broken.listenerCount('error')).toBe(0);
      // The stream is destroyed now: later flushes fail the same way, and still keep everything.
      s.record(entry(2));
      await expect(s.flush()).rejects.toThrow(/2 entries kept/);
    });
  });
});

describe('stdout audit sink: large batches, open and the last flush', () => {
  /** A stream whose `failAt`-th write (from 1) fails; the others are kept. */
  function failingAt(failAt: number) {
    const written: string[] = [];
    let calls = 0;
    const stream = {
      write(text: string, cb: (err?: Error | null) => void) {
        calls += 1;
        if (calls === failAt) {
          cb(new Error('EPIPE: broken pipe'));
          return false;
        }
        written.push(text);
        cb();
        return true;
      },
      on: () => stream,
      off: () => stream,
    };
    return { stream: stream as unknown as NodeJS.WritableStream, written };
  }

  it('writes a huge batch in chunks of about 1 MiB; after a failed chunk, only what was not written is kept, and nothing is written twice', async () => {
    const f = failingAt(2);
    const s = sink(f.stream);
    const big = 'x'.repeat(100 * 1024);
    for (let i = 1; i <= 30; i++) s.record(entry(i, { message: big }));
    expect(s.queued).toBe(30);
    await expect(s.flush()).rejects.toThrow(/^audit stdout: write failed: EPIPE: broken pipe; \d+ entries kept for the next flush$/);
    expect(f.written).toHaveLength(1);
    const first = f.written[0]?.trim().split('\n').length ?? 0;
    expect(first).toBeGreaterThan(5);
    expect(s.queued).toBe(30 - first);
    await s.flush();
    expect(s.queued).toBe(0);
    expect(f.written.length).toBeGreaterThanOrEqual(3);
    expect(checkChain(f.written.join('').trim().split('\n')).map((e) => e.eventSeq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('has nothing to check before the run; its last flush says what could not be written', async () => {
    const good = collector();
    const s = sink(good.stream);
    await s.open();
    s.record(entry(1));
    expect(await s.close(new AbortController().signal)).toEqual({ undelivered: 0, dropped: 0 });
    expect(good.lines()).toHaveLength(1);
    const broken = sink(failingAt(1).stream);
    broken.record(entry(1));
    expect(await broken.close(new AbortController().signal)).toEqual({ undelivered: 1, dropped: 0, error: 'EPIPE: broken pipe' });
  });
});
