import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assertChain, testAuditEntry } from '../testing/audit.js';
import { fakeDeps } from '../testing/fakes.js';
import { CHUNK_BYTES } from './append.js';
import { sealLine } from './chain.js';
import type { AuditEntry } from './entry.js';
import { configSchema, create } from './file.js';
import { DEADLINE_PASSED } from './until-aborted.js';
import { CUT_SHORT_MESSAGE, verifyTrail } from './verify.js';

/*
 * The file sink when the disk does not take everything: short writes, a disk that fills up
 * mid-batch, writes that take nothing, huge batches, a last flush that runs out of time.
 */
const entry = testAuditEntry;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-file-faults-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const sink = (folder = join(dir, 'audit')) => create(configSchema.parse({ type: 'file', dir: folder }), fakeDeps({ runId: 'web-1' }));
const trail = () => join(dir, 'audit', 'web-1.jsonl');
const whole = (text: string): AuditEntry[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as AuditEntry);

type Write = (this: unknown, ...args: unknown[]) => Promise<{ bytesWritten: number; buffer: unknown }>;

/**
 * Makes every file write go through `disk`, which decides how many of the bytes asked for it
 * writes for real (or throws). Handles both `write(buffer, offset, length)` and `write(string)`.
 */
async function throughDisk(disk: (asked: number) => number) {
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { write: Write };
  await probe.close();
  const real = proto.write;
  const calls: number[] = [];
  vi.spyOn(proto, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
    const [data, offset = 0, length] = args as [Buffer | string, number?, number?];
    const bytes = typeof data === 'string' ? Buffer.from(data) : data.subarray(offset, offset + (length ?? data.length - offset));
    calls.push(bytes.length);
    const n = disk(bytes.length);
    return Reflect.apply(real, this, [bytes, 0, n]) as ReturnType<Write>;
  });
  return calls;
}

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('file audit sink on a disk that takes less than it is asked', () => {
  it('writes the rest of a write the disk took only in part: every byte of every entry lands', async () => {
    // At most 100 bytes per call, as a nearly full disk (or a signal) can do.
    const calls = await throughDisk((asked) => Math.min(asked, 100));
    const s = sink();
    for (let i = 1; i <= 5; i++) s.record(entry(i));
    await s.flush();
    s.record(entry(6));
    await s.flush();
    const text = await readFile(trail(), 'utf8');
    expect(assertChain(whole(text)).map((e) => e.eventSeq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(text.endsWith('\n')).toBe(true);
    expect(calls.length).toBeGreaterThan(6);
    expect(await verifyTrail([trail()])).toMatchObject({ ok: true, entries: 6, torn: [] });
  });

  it('after a disk fills up mid-batch, keeps what did not land, then starts a line of its own and continues the chain from where the file really ends', async () => {
    let room = Infinity;
    await throughDisk((asked) => {
      if (room <= 0) throw enospc();
      const n = Math.min(asked, room);
      room -= n;
      return n;
    });
    const s = sink();
    s.record(entry(1));
    s.record(entry(2));
    await s.flush();
    const before = (await readFile(trail(), 'utf8')).length;
    s.record(entry(3));
    await s.flush();
    // Room for an entry as long as entry 3, its newline and 40 bytes more: then the disk is full.
    room = (await readFile(trail(), 'utf8')).length - before + 40;
    s.record(entry(4));
    s.record(entry(5));
    s.record(entry(6));
    await expect(s.flush()).rejects.toThrow(/^audit file .*web-1\.jsonl: write failed: ENOSPC: no space left on device/);
    // Entry 4 landed whole, 40 bytes of entry 5 did: 5 and 6 wait.
    expect(s.queued).toBe(2);
    // Still full: nothing changes, nothing is lost.
    await expect(s.flush()).rejects.toThrow(/ENOSPC/);
    expect(s.queued).toBe(2);
    room = Infinity;
    s.record(entry(7));
    await s.flush();
    expect(s.queued).toBe(0);
    const text = await readFile(trail(), 'utf8');
    expect(assertChain(whole(text)).map((e) => e.eventSeq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const result = await verifyTrail([trail()]);
    expect(result).toMatchObject({ ok: true, entries: 7 });
    expect(result.torn).toEqual([{ file: trail(), line: 5, message: CUT_SHORT_MESSAGE }]);
  });

  it('counts an entry whose JSON landed but not its newline as written, and starts the next line itself', async () => {
    let room = Infinity;
    await throughDisk((asked) => {
      if (room <= 0) throw enospc();
      const n = Math.min(asked, room);
      room -= n;
      return n;
    });
    const s = sink();
    s.record(entry(1));
    await s.flush();
    const [first] = whole(await readFile(trail(), 'utf8')) as [AuditEntry];
    s.record(entry(2));
    // Entry 2 without its newline.
    room = Buffer.byteLength(sealLine(entry(2), { seq: 1, hash: first.hash }).line);
    await expect(s.flush()).rejects.toThrow(/ENOSPC/);
    expect(s.queued).toBe(0);
    room = Infinity;
    s.record(entry(3));
    await s.flush();
    expect(assertChain(whole(await readFile(trail(), 'utf8'))).map((e) => e.eventSeq)).toEqual([1, 2, 3]);
    expect(await verifyTrail([trail()])).toMatchObject({ ok: true, entries: 3, torn: [] });
  });

  it('treats a write that lands no byte and reports no error as a failure, not as a reason to loop for ever', async () => {
    await throughDisk(() => 0);
    const s = sink();
    s.record(entry(1));
    await expect(s.flush()).rejects.toThrow(/: write failed: the file took no more bytes \(0 of \d+ written\)$/);
    expect(s.queued).toBe(1);
  });

  it('writes a huge batch in chunks of at most 1 MiB (a longer line in a chunk of its own), never as one string', async () => {
    const calls = await throughDisk((asked) => asked);
    const s = sink();
    const big = 'x'.repeat(100 * 1024);
    for (let i = 1; i <= 30; i++) s.record(entry(i, { message: big }));
    s.record(entry(31, { message: 'y'.repeat(CHUNK_BYTES + 10) }));
    s.record(entry(32));
    await s.flush();
    const text = await readFile(trail(), 'utf8');
    expect(calls.reduce((a, b) => a + b, 0)).toBe(Buffer.byteLength(text));
    expect(calls.length).toBeGreaterThanOrEqual(4);
    // Every chunk but the one holding the long line stays under the limit plus one line.
    expect(calls.filter((n) => n > CHUNK_BYTES + big.length + 1024)).toHaveLength(1);
    expect(assertChain(whole(text)).map((e) => e.eventSeq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
  });
});

describe('the last flush of the file sink', () => {
  it('writes what is queued and says nothing is left', async () => {
    const s = sink();
    s.record(entry(1));
    expect(await s.close(new AbortController().signal)).toEqual({ undelivered: 0, dropped: 0 });
    expect(whole(await readFile(trail(), 'utf8'))).toHaveLength(1);
  });

  it('says how many entries could not be written, and why', async () => {
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, '');
    const s = sink(blocked);
    s.record(entry(1));
    s.record(entry(2));
    const report = await s.close(new AbortController().signal);
    expect(report).toEqual({ undelivered: 2, dropped: 0, error: expect.stringMatching(/^audit file .*blocked\/web-1\.jsonl: write failed: EEXIST/) as unknown });
  });

  it('stops waiting at the deadline and counts the entries still on their way', async () => {
    const s = sink();
    s.record(entry(1));
    s.record(entry(2));
    expect(await s.close(AbortSignal.abort())).toEqual({ undelivered: 2, dropped: 0, error: DEADLINE_PASSED });
    // The write itself went on.
    await s.flush();
    expect(whole(await readFile(trail(), 'utf8'))).toHaveLength(2);
  });
});
