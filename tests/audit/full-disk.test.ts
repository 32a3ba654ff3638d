import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../core/src/audit/entry.js';
import { configSchema, create } from '../../core/src/audit/file.js';
import { CUT_SHORT_MESSAGE, verifyTrail } from '../../core/src/audit/verify.js';
import { assertChain, testAuditEntry } from '../../core/src/testing/audit.js';
import { fakeDeps } from '../../core/src/testing/fakes.js';

/*
 * The file audit sink on a real, tiny filesystem (a 64 KiB tmpfs): a disk that fills up takes
 * writes in part, then refuses them. Mounting needs privileges (root in a container, as here,
 * and in CI); where the mount is refused these tests fail, saying so, rather than pass unseen.
 * core/src/audit/file-faults.test.ts covers the same paths with a disk simulated under the FileHandle.
 */
const mounts: string[] = [];

function tinyDisk(options: string): string {
  const dir = execFileSync('mktemp', ['-d', join(tmpdir(), 'rollgate-tiny-disk-XXXXXX')], { encoding: 'utf8' }).trim();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=64k,${options}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    execFileSync('rmdir', [dir]);
    throw new Error(`these tests need a real tmpfs (run them as root, as CI does): mount failed: ${(err as Error).message}`);
  }
  mounts.push(dir);
  return dir;
}

const disk = tinyDisk('mode=0700');
const readOnly = tinyDisk('ro');

afterAll(() => {
  for (const dir of mounts) {
    execFileSync('umount', [dir]);
    execFileSync('rmdir', [dir]);
  }
});

/** Writes to `path` until the disk is full; returns how many bytes it took. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  let total = 0;
  try {
    for (;;) total += writeSync(fd, Buffer.alloc(4096, 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return total;
}

const sink = (dir: string) => create(configSchema.parse({ type: 'file', dir }), fakeDeps({ runId: 'web-1' }));

describe('the file audit sink on a disk that fills up', () => {
  it('loses no entry and writes none twice: what did not fit is written once there is room, and the trail verifies', async () => {
    const root = disk;
    const dir = join(root, 'audit');
    const file = join(dir, 'web-1.jsonl');
    const s = sink(dir);
    await s.open();
    for (let i = 1; i <= 5; i++) s.record(testAuditEntry(i));
    await s.flush();

    const filler = join(root, 'filler');
    const size = fill(filler);
    for (let i = 6; i <= 40; i++) s.record(testAuditEntry(i));
    // The disk takes what fits in the file's last page, then refuses the rest.
    await expect(s.flush()).rejects.toThrow(/^audit file .*web-1\.jsonl: write failed: ENOSPC/);
    // Two pages freed: part of what waits fits, in part.
    await truncate(filler, size - 8192);
    await expect(s.flush()).rejects.toThrow(/ENOSPC/);
    expect(s.queued).toBeGreaterThan(0);
    expect(s.queued).toBeLessThan(35);
    const partial = (await stat(file)).size;
    expect(partial).toBeGreaterThan(8192);

    await rm(filler);
    s.record(testAuditEntry(41));
    await s.flush();
    expect(s.queued).toBe(0);

    const text = await readFile(file, 'utf8');
    const whole = text
      .split('\n')
      .filter((l) => l.startsWith('{') && l.endsWith('}'))
      .map((l) => JSON.parse(l) as AuditEntry);
    expect(assertChain(whole).map((e) => e.eventSeq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    const result = await verifyTrail([file]);
    expect(result).toMatchObject({ ok: true, entries: 41 });
    expect(result.torn.length).toBeGreaterThan(0);
    expect(result.torn.every((t) => t.message === CUT_SHORT_MESSAGE)).toBe(true);
  });
});

describe('the file audit sink on a read-only filesystem', () => {
  it('cannot be opened before the run, and says which file and why', async () => {
    const s = sink(readOnly);
    await expect(s.open()).rejects.toThrow(`audit file ${join(readOnly, 'web-1.jsonl')}: cannot be written: EROFS: read-only file system, open '${join(readOnly, 'web-1.jsonl')}'`);
  });
});
