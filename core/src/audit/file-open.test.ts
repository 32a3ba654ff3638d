import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { testAuditEntry } from '../testing/audit.js';
import { fakeDeps } from '../testing/fakes.js';
import { configSchema, create } from './file.js';

/*
 * Before the run changes anything, the file sink proves it can write its trail; it never writes
 * through a symbolic link, into something that is not a regular file, or outside its folder.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-file-open-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sink = (runId = 'web-1', folder = join(dir, 'audit')) => create(configSchema.parse({ type: 'file', dir: folder }), fakeDeps({ runId }));
const trail = (...parts: string[]) => join(dir, 'audit', ...parts);

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

const LINK_REFUSED = 'it is a symbolic link, which audit files are never written through (the entries would go wherever it points); remove the link';

describe('file audit sink: open', () => {
  it('creates the folder and an empty trail readable by its owner only, synced to disk, before anything is recorded', async () => {
    const s = sink();
    await s.open();
    const info = await stat(trail('web-1.jsonl'));
    expect(info.size).toBe(0);
    expect(info.mode & 0o777).toBe(0o600);
    expect(s.queued).toBe(0);
  });

  it('leaves an existing trail as it is (a resumed run)', async () => {
    await mkdir(trail());
    await writeFile(trail('web-1.jsonl'), '{"seq":1}\n');
    await sink().open();
    expect(await readFile(trail('web-1.jsonl'), 'utf8')).toBe('{"seq":1}\n');
  });

  it('says which file cannot be written and why when its folder cannot be made', async () => {
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, '');
    const err = await failure(sink('web-1', blocked).open());
    expect(err.message).toBe(`audit file ${join(blocked, 'web-1.jsonl')}: cannot be written: EEXIST: file already exists, mkdir '${blocked}'`);
  });

  it('refuses a symbolic link at the trail, and never writes through it: its target is untouched', async () => {
    await mkdir(trail());
    const target = join(dir, 'elsewhere.txt');
    await writeFile(target, 'keep me\n');
    await symlink(target, trail('web-1.jsonl'));
    const s = sink();
    expect((await failure(s.open())).message).toBe(`audit file ${trail('web-1.jsonl')}: cannot be written: ${LINK_REFUSED}`);
    s.record(testAuditEntry(1));
    expect((await failure(s.flush())).message).toBe(`audit file ${trail('web-1.jsonl')}: write failed: ${LINK_REFUSED}`);
    expect(s.queued).toBe(1);
    expect(await readFile(target, 'utf8')).toBe('keep me\n');
  });

  it('says why it cannot open a trail that is a folder', async () => {
    await mkdir(trail('web-1.jsonl'), { recursive: true });
    const err = await failure(sink().open());
    expect(err.message).toBe(`audit file ${trail('web-1.jsonl')}: cannot be written: EISDIR: illegal operation on a directory, open '${trail('web-1.jsonl')}'`);
  });

  it('refuses what is not a regular file, such as a FIFO another process reads', async () => {
    await mkdir(trail());
    execFileSync('mkfifo', [trail('web-1.jsonl')]);
    const reader = await open(trail('web-1.jsonl'), constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const err = await failure(sink().open());
      expect(err.message).toBe(`audit file ${trail('web-1.jsonl')}: cannot be written: it is not a regular file; remove it or choose another folder`);
    } finally {
      await reader.close();
    }
  });

  it('refuses a run id that is not a plain file name, and creates nothing outside its folder', async () => {
    const err = await failure(sink('../escape').open());
    expect(err.message).toBe(`audit file ${join(dir, 'escape.jsonl')}: cannot be written: run id '../escape' is not a plain file name`);
    await expect(stat(join(dir, 'escape.jsonl'))).rejects.toThrow(/ENOENT/);
  });
});
