import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { assertChain, testAuditEntry } from '../testing/audit.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProviderError } from '../errors.js';
import { fakeDeps } from '../testing/fakes.js';
import { hashOf } from './chain.js';
import { type AuditEntry } from './entry.js';
import { configSchema, create } from './file.js';

const entry = testAuditEntry;

/** The entries of a trail, checked: every hash recomputes and links to the one before. */
const checkChain = (text: string, key?: string): AuditEntry[] =>
  assertChain(
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AuditEntry),
    key,
  );

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-file-audit-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const sink = (runId = 'web-1', extra: { hmacKey?: string; dir?: string } = {}) =>
  create(configSchema.parse({ type: 'file', dir: extra.dir ?? join(dir, 'audit') }), { ...fakeDeps({ runId }), ...(extra.hmacKey ? { hmacKey: extra.hmacKey } : {}) });
const trail = (runId = 'web-1') => join(dir, 'audit', `${runId}.jsonl`);

/** The prototype of the handles `open` returns, to watch writes and syncs. */
async function fileHandleProto() {
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown>; datasync: () => Promise<void> };
  await probe.close();
  return proto;
}

describe('file audit sink', () => {
  it('defaults to .rollgate/audit, not best-effort', () => {
    expect(configSchema.parse({ type: 'file' })).toEqual({ type: 'file', dir: '.rollgate/audit', bestEffort: false });
  });

  it('appends each flush as a batch of whole lines, one chain across batches, readable by its owner only', async () => {
    const s = sink();
    expect(s.type).toBe('file');
    s.record(entry(1));
    s.record(entry(2));
    await s.flush();
    const first = await readFile(trail(), 'utf8');
    expect(first.split('\n')).toHaveLength(3);
    s.record(entry(3));
    await s.flush();
    const text = await readFile(trail(), 'utf8');
    expect(text.startsWith(first)).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    expect(checkChain(text).map((e) => e.eventSeq)).toEqual([1, 2, 3]);
    expect((await stat(trail())).mode & 0o777).toBe(0o600);
  });

  it('writes nothing, and creates nothing, when nothing was recorded', async () => {
    const s = sink();
    await s.flush();
    await expect(stat(join(dir, 'audit'))).rejects.toThrow(/ENOENT/);
  });

  it('writes each batch in one write and syncs it to disk before the flush resolves', async () => {
    const proto = await fileHandleProto();
    const calls: string[] = [];
    const realWrite = proto.write;
    const realSync = proto.datasync;
    const w = vi.spyOn(proto, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      calls.push('write');
      return Reflect.apply(realWrite, this, args) as Promise<unknown>;
    });
    const d = vi.spyOn(proto, 'datasync').mockImplementation(function (this: unknown) {
      calls.push('datasync');
      return Reflect.apply(realSync, this, []) as Promise<void>;
    });
    const s = sink();
    for (let i = 1; i <= 5; i++) s.record(entry(i));
    await s.flush();
    s.record(entry(6));
    await s.flush();
    expect(calls).toEqual(['write', 'datasync', 'write', 'datasync']);
    expect(w).toHaveBeenCalledTimes(2);
    expect(d).toHaveBeenCalledTimes(2);
    expect(checkChain(await readFile(trail(), 'utf8'))).toHaveLength(6);
  });

  it('signs every entry with the key when one is configured', async () => {
    const s = sink('web-1', { hmacKey: 's3cret-key' });
    s.record(entry(1));
    s.record(entry(2));
    await s.flush();
    checkChain(await readFile(trail(), 'utf8'), 's3cret-key');
  });

  it('continues the chain of an existing trail: two sinks on the same run id make one chain (a resumed run)', async () => {
    const first = sink();
    first.record(entry(1));
    first.record(entry(2));
    await first.flush();
    const resumed = sink();
    resumed.record(entry(3));
    await resumed.flush();
    resumed.record(entry(4));
    await resumed.flush();
    expect(checkChain(await readFile(trail(), 'utf8')).map((e) => e.eventSeq)).toEqual([1, 2, 3, 4]);
  });

  it('keeps one trail per run id', async () => {
    const a = sink('run-a');
    const b = sink('run-b');
    a.record(entry(1, { runId: 'run-a' }));
    b.record(entry(1, { runId: 'run-b' }));
    await Promise.all([a.flush(), b.flush()]);
    expect(checkChain(await readFile(trail('run-a'), 'utf8'))[0]?.runId).toBe('run-a');
    expect(checkChain(await readFile(trail('run-b'), 'utf8'))[0]?.runId).toBe('run-b');
  });

  describe('continuing a trail whose end is damaged', () => {
    async function twoEntries(): Promise<{ text: string; last: AuditEntry }> {
      const s = sink();
      s.record(entry(1));
      s.record(entry(2));
      await s.flush();
      const text = await readFile(trail(), 'utf8');
      return { text, last: checkChain(text)[1] as AuditEntry };
    }

    it('skips a torn last line (and lines that are JSON but no entry) and links to the last whole entry', async () => {
      const { text, last } = await twoEntries();
      await writeFile(trail(), `${text}\n{"hash":"no-seq"}\nnull\n{}\n{"format":"rollgate/audit@1","seq":3,"ha\n`);
      const s = sink();
      s.record(entry(3));
      await s.flush();
      const lines = (await readFile(trail(), 'utf8')).trim().split('\n');
      const appended = JSON.parse(lines.at(-1) as string) as AuditEntry;
      expect(appended).toMatchObject({ seq: 3, prevHash: last.hash, eventSeq: 3 });
      const { hash, ...body } = appended;
      expect(hashOf(body)).toBe(hash);
    });

    it('starts a new chain when the file holds no whole entry at all', async () => {
      await mkdir(join(dir, 'audit'));
      await writeFile(trail(), '{"format":"rollg');
      const s = sink();
      s.record(entry(1));
      await s.flush();
      // The torn fragment stays for verify to report; the new chain starts on a line of its own.
      const lines = (await readFile(trail(), 'utf8')).split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe('{"format":"rollg');
      expect(JSON.parse(lines[1] as string)).toMatchObject({ seq: 1, prevHash: null });
    });

    it('writes the first continued entry on a line of its own after a torn line without a newline', async () => {
      const { text, last } = await twoEntries();
      await writeFile(trail(), `${text}{"format":"rollgate/audit@1","seq":3,"ha`);
      const s = sink();
      s.record(entry(3));
      await s.flush();
      const lines = (await readFile(trail(), 'utf8')).trim().split('\n');
      expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ seq: 3, prevHash: last.hash });
    });
  });

  describe('a failed write', () => {
    it('is a ProviderError naming the file; the entries are kept and written in order by the next flush', async () => {
      // The folder is a file: nothing can be written.
      const blocked = join(dir, 'blocked');
      await writeFile(blocked, '');
      const s = sink('web-1', { dir: blocked });
      s.record(entry(1));
      s.record(entry(2));
      const err = await s.flush().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as Error).message).toMatch(new RegExp(`^audit file ${join(blocked, 'web-1.jsonl')}: write failed: `));
      s.record(entry(3));
      await expect(s.flush()).rejects.toThrow(/write failed/);
      // Fixed: the folder can be created now.
      await rm(blocked);
      s.record(entry(4));
      await s.flush();
      expect(checkChain(await readFile(join(blocked, 'web-1.jsonl'), 'utf8')).map((e) => e.eventSeq)).toEqual([1, 2, 3, 4]);
      // Nothing is left over.
      await s.flush();
      expect(checkChain(await readFile(join(blocked, 'web-1.jsonl'), 'utf8'))).toHaveLength(4);
    });

    it('does not stop later flushes: they wait for the one in flight', async () => {
      const s = sink();
      s.record(entry(1));
      const a = s.flush();
      s.record(entry(2));
      const b = s.flush();
      await Promise.all([a, b]);
      expect(checkChain(await readFile(trail(), 'utf8')).map((e) => e.eventSeq)).toEqual([1, 2]);
    });

    // A flush takes its batch when its turn comes: entries kept from a failed write go out first.
    it('keeps the order when a flush fails while another one is queued', async () => {
      const proto = await fileHandleProto();
      vi.spyOn(proto, 'write').mockRejectedValueOnce(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
      const s = sink();
      s.record(entry(1));
      const a = s.flush();
      s.record(entry(2));
      const b = s.flush();
      await expect(a).rejects.toThrow(/ENOSPC/);
      await b;
      await s.flush();
      expect(checkChain(await readFile(trail(), 'utf8')).map((e) => e.eventSeq)).toEqual([1, 2]);
    });
  });
});
