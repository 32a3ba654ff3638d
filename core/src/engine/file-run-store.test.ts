import { chmod, lstat, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalError } from '../errors.js';
import { JOURNAL_FORMAT, type RunJournal } from '../model/journal.js';
import { describeWriteError, FileRunStore } from './file-run-store.js';
import { MemoryRunStore } from './memory-run-store.js';

const journal = (status: RunJournal['status'] = 'running'): RunJournal => ({
  format: JOURNAL_FORMAT,
  runId: 'web-1',
  workflow: { name: 'web', path: '/w.yml', sha256: 'a'.repeat(64) },
  context: { actor: 'alice', ci: 'local' },
  inputs: {},
  selection: {},
  status,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  seq: 3,
  stages: {},
});

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rollgate-store-'));
}

describe('FileRunStore', () => {
  it('returns undefined when no journal exists yet', async () => {
    expect(await new FileRunStore(join(await tmp(), 'run.json')).load()).toBeUndefined();
  });

  it('round-trips a journal and leaves no temporary files behind', async () => {
    const dir = await tmp();
    const store = new FileRunStore(join(dir, 'nested', 'run.json'));
    await store.save(journal());
    await store.save(journal('paused'));
    expect((await store.load())?.status).toBe('paused');
    expect(await readdir(join(dir, 'nested'))).toEqual(['run.json']);
  });

  it('rejects a truncated journal with a clear error and leaves it untouched', async () => {
    const path = join(await tmp(), 'run.json');
    const text = JSON.stringify(journal()).slice(0, 40);
    await writeFile(path, text);
    await expect(new FileRunStore(path).load()).rejects.toThrow(/corrupt or truncated.*left as it is/);
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('rejects a foreign JSON file', async () => {
    const path = join(await tmp(), 'package.json');
    await writeFile(path, '{"name":"x"}');
    await expect(new FileRunStore(path).load()).rejects.toThrow(JournalError);
    await expect(new FileRunStore(path).load()).rejects.toThrow(/is not a rollgate run journal.*--state/);
  });

  it('names every missing or damaged field of a journal', async () => {
    const path = join(await tmp(), 'run.json');
    await writeFile(path, JSON.stringify({ format: JOURNAL_FORMAT }));
    await expect(new FileRunStore(path).load()).rejects.toThrow(
      /is damaged or was edited by hand: runId: .*; workflow: .*; .*status: .*; it was left as it is\. Restore it from the CI artifact/,
    );
    await writeFile(path, JSON.stringify({ ...journal(), stages: { web: { status: 'running' } } }));
    await expect(new FileRunStore(path).load()).rejects.toThrow(/stages\.web\.environment: .*stages\.web\.steps: /);
  });

  it('writes through a symlink to the journal it names, and leaves the link a link', async () => {
    const dir = await tmp();
    const real = join(dir, 'real.json');
    const link = join(dir, 'link.json');
    await symlink(real, link);
    const store = new FileRunStore(link);
    expect(store.location).toBe(real);
    await store.save(journal('paused'));
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await new FileRunStore(real).load())?.status).toBe('paused');
  });

  it('says why a journal cannot be written, and what to do', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'file'), '');
    await expect(new FileRunStore(join(dir, 'file', 'run.json')).save(journal())).rejects.toThrow(
      /^cannot write the run journal .*file\/run\.json: (EEXIST|ENOTDIR): a part of the path is not a folder \(or the path is one\); pass --state PATH naming a file$/,
    );
    const locked = join(dir, 'locked');
    await writeFile(join(dir, 'x'), '');
    await chmod(dir, 0o500);
    try {
      // root may write anyway: then the save works and there is nothing to report.
      const saved = await new FileRunStore(join(locked, 'run.json')).save(journal()).then(
        () => 'saved',
        (err: Error) => err.message,
      );
      expect(saved).toMatch(/^(saved|cannot write the run journal .*: EACCES: permission denied; make the folder writable by this user, or pass --state PATH elsewhere)$/);
    } finally {
      await chmod(dir, 0o700);
    }
  });

  it('refuses a journal edited into something rollgate must not act on, naming each field', async () => {
    const path = join(await tmp(), 'run.json');
    const edited = {
      ...journal(),
      runId: '../../etc/cron.d/x',
      workflow: { name: 'web', path: '/home/ci/.env', sha256: 'a'.repeat(64) },
      stages: {
        web: { status: 'running', environment: 'prod', version: 'v2', steps: [], compensations: [{ id: 'x', stepId: 'deploy', description: 'd', op: 'shell.exec', params: {}, status: 'pending', attempts: 0 }] },
      },
    };
    await writeFile(path, JSON.stringify(edited));
    const error = await new FileRunStore(path).load().catch((err: Error) => err.message);
    expect(error).toMatch(/runId: a run id is letters, digits, "\.", "_" and "-" \(it names files\), without "\.\."/);
    expect(error).toMatch(/workflow\.path: must name a \.yml, \.yaml or \.json workflow file/);
    expect(error).toMatch(/stages\.web\.compensations\.0\.op: unknown undo operation "shell\.exec"; this rollgate knows target\.revert, router\.reset, candidate\.restore-scale, candidate\.remove, unit\.revert/);
    expect(await readFile(path, 'utf8')).toBe(JSON.stringify(edited));
  });

  it.each([
    ['ENOSPC', 'ENOSPC: no space left on the device; free some, or pass --state PATH on another disk'],
    ['EDQUOT', 'EDQUOT: no space left on the device; free some, or pass --state PATH on another disk'],
    ['EACCES', 'EACCES: permission denied; make the folder writable by this user, or pass --state PATH elsewhere'],
    ['EPERM', 'EPERM: permission denied; make the folder writable by this user, or pass --state PATH elsewhere'],
    ['EROFS', 'EROFS: the filesystem is read-only; pass --state PATH on a writable one'],
    ['ENOTDIR', 'ENOTDIR: a part of the path is not a folder (or the path is one); pass --state PATH naming a file'],
    ['EIO', 'EIO: i/o error'],
  ])('says what a %s means for the journal and what to do', (code, message) => {
    expect(describeWriteError(Object.assign(new Error(`${code}: i/o error`), { code }))).toBe(message);
  });

  it('reports an unreadable path', async () => {
    const dir = await tmp();
    await expect(new FileRunStore(dir).load()).rejects.toThrow(/cannot read run journal/);
  });
});

describe('MemoryRunStore', () => {
  it('keeps a copy, not a reference', async () => {
    const store = new MemoryRunStore();
    expect(await store.load()).toBeUndefined();
    const j = journal();
    await store.save(j);
    j.status = 'failed';
    expect((await store.load())?.status).toBe('running');
  });
});
