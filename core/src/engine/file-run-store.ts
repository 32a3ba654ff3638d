import { randomBytes } from 'node:crypto';
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { JournalError } from '../errors.js';
import { JOURNAL_FORMAT, type RunJournal } from '../model/journal.js';
import type { RunStore } from '../ports/run-store.js';
import { checkJournal } from './journal-schema.js';

/**
 * The run journal as a JSON file, replaced atomically: written to a temporary file beside it,
 * fsynced, renamed over the old one, and the folder fsynced, so a crash at any moment leaves
 * either the previous or the new journal, never a torn one.
 */
export class FileRunStore implements RunStore {
  /**
   * The real path of the journal: a symlink to it is followed once, here, so the file it names is
   * the one replaced, and the one locked (two paths to one journal share one lock).
   */
  readonly location: string;

  constructor(path: string) {
    this.location = realLocation(resolve(path));
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
    try {
      await this.write(journal);
    } catch (err) {
      throw new JournalError(`cannot write the run journal ${this.location}: ${describeWriteError(err)}`, { cause: err });
    }
  }

  private async write(journal: RunJournal): Promise<void> {
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
  return checkJournal(j, location);
}

/**
 * The file a path names, through symlinks (also one that points at a journal not written yet);
 * for a path whose folder does not exist yet, the path itself.
 */
function realLocation(path: string): string {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    try {
      if (!lstatSync(current).isSymbolicLink()) break;
      current = resolve(dirname(current), readlinkSync(current));
    } catch {
      break;
    }
  }
  try {
    return join(realpathSync(dirname(current)), basename(current));
  } catch {
    return current;
  }
}

/** A write error as a person can act on it. */
export function describeWriteError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `${code}: no space left on the device; free some, or pass --state PATH on another disk`;
    case 'EACCES':
    case 'EPERM':
      return `${code}: permission denied; make the folder writable by this user, or pass --state PATH elsewhere`;
    case 'EROFS':
      return `${code}: the filesystem is read-only; pass --state PATH on a writable one`;
    case 'EEXIST':
    case 'ENOTDIR':
    case 'EISDIR':
      return `${code}: a part of the path is not a folder (or the path is one); pass --state PATH naming a file`;
    default:
      return (err as Error).message;
  }
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
