import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRunStoreContract } from '../testing/contracts/run-store.js';
import { FileRunStore } from './file-run-store.js';

// The journal in a folder of its own, whose files the suite can list and damage.
describeRunStoreContract('file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-contract-store-'));
  const path = join(dir, 'run.json');
  return {
    store: new FileRunStore(path),
    reopen: () => new FileRunStore(path),
    damage: (text) => writeFile(path, text),
    raw: () => readFile(path, 'utf8').catch(() => undefined),
    files: () => readdir(dir),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});
