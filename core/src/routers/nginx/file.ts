import { randomBytes } from 'node:crypto';
import { open, readFile, realpath, rename, stat, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ProviderError } from '../../errors.js';

/** The upstream file's text and when it was last written, or `text: null` when there is no file. */
export interface FileNow {
  text: string | null;
  mtimeMs: number;
}

export async function readUpstream(path: string): Promise<FileNow> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mtimeMs: info.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { text: null, mtimeMs: 0 };
    throw new ProviderError(`nginx router: cannot read the upstream file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Replaces the file with `text` atomically: a temp file beside it, flushed, renamed over it (nginx
 * never reads half a file), with the old file's mode. `null` removes the file. `mtimeMs` puts back
 * the time of a file restored as it was: whether nginx serves a file is told by that time.
 */
export async function writeUpstream(path: string, text: string | null, mtimeMs?: number): Promise<void> {
  if (text === null) {
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw failure(path, err);
    });
    return;
  }
  const mode = await stat(path).then(
    (s) => s.mode & 0o7777,
    () => 0o644,
  );
  const temp = join(dirname(path), `.${basename(path)}.rollgate-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      // open() applies the umask: set the old file's mode exactly.
      await handle.chmod(mode);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    if (mtimeMs !== undefined) await utimes(path, new Date(), new Date(mtimeMs));
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw failure(path, err);
  }
}

function failure(path: string, err: unknown): ProviderError {
  const code = (err as NodeJS.ErrnoException).code;
  return new ProviderError(
    `nginx router: cannot write the upstream file ${path} (${code ?? (err as Error).message}): rollgate writes a temp file beside it and renames it over the file, so its folder must be writable`,
    { cause: err, nothingChanged: true },
  );
}

/**
 * Whether the dump of `nginx -T` lists `path` among the files it read (`# configuration file
 * PATH:` before each), as the same file even when reached through another path or a link.
 */
export async function readsFile(dump: string, path: string): Promise<boolean> {
  const real = (p: string) => realpath(p).catch(() => p);
  const wanted = await real(path);
  const listed = [...dump.matchAll(/^# configuration file (.+):$/gm)].map((m) => m[1] as string);
  for (const file of listed) if (file === path || (await real(file)) === wanted) return true;
  return false;
}
