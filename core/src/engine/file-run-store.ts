import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { JournalError } from '../errors.js';
import { JOURNAL_FORMAT, type RunJournal } from '../model/journal.js';
import type { RunStore } from '../ports/run-store.js';

/**
 * The run journal as a JSON file, replaced atomically: written to a temporary file beside it,
 * fsynced, renamed over the old one, and the folder fsynced, so a crash at any moment leaves
 * either the previous or the new journal, never a torn one.
 */
export class FileRunStore implements RunStore {
  readonly location: string;

  constructor(path: string) {
    this.location = resolve(path);
  }

  async load(): Promise<RunJournal | undefined> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new JournalError(`cannot read run journal ${this.location}: ${(err as Error).message}`);
    }
    return parseJournal(text, this.location);
  }

  async save(journal: RunJournal): Promise<void> {
    const dir = dirname(this.location);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.location}.${randomBytes(4).toString('hex')}.tmp`;
    // The journal names environments, versions and actors: readable by its owner only.
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(journal, null, 1)}\n`);
      await handle.sync();
    } catch (err) {
      await handle.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    try {
      await rename(tmp, this.location);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await syncDir(dir);
  }
}

/** Checks that text is a whole rollgate journal; a clear error otherwise, and nothing changes. */
export function parseJournal(text: string, location: string): RunJournal {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new JournalError(
      `run journal ${location} is corrupt or truncated (${(err as Error).message}); it was left as it is. ` +
        'Restore it from the CI artifact; to start a new run instead, pass another --state path or delete the file.',
    );
  }
  const j = data as Partial<RunJournal> | null;
  if (!j || typeof j !== 'object' || j.format !== JOURNAL_FORMAT) {
    throw new JournalError(
      `${location} is not a rollgate run journal (expected format '${JOURNAL_FORMAT}'); it was left as it is. ` +
        'Pass the --state file that `rollgate run` wrote.',
    );
  }
  const missing = [
    typeof j.runId !== 'string' && 'runId',
    typeof j.status !== 'string' && 'status',
    (typeof j.workflow?.path !== 'string' || typeof j.workflow?.sha256 !== 'string') && 'workflow.path/sha256',
    (!j.stages || typeof j.stages !== 'object') && 'stages',
    ...Object.entries(j.stages ?? {})
      .filter(([, r]) => typeof r?.status !== 'string' || !Array.isArray(r?.compensations) || !Array.isArray(r?.steps))
      .map(([name]) => `stages.${name}`),
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new JournalError(`run journal ${location} is damaged: missing or wrong ${missing.join(', ')}; it was left as it is.`);
  }
  return j as RunJournal;
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on folders; the rename is still atomic there.
  }
}
