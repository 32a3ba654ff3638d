import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalError } from '../errors.js';
import { JOURNAL_FORMAT, type RunJournal } from '../model/journal.js';
import { FileRunStore } from './file-run-store.js';
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
