import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Appending to audit files safely: never through a symbolic link, only to regular files, and
 * every byte or an error. A write may take fewer bytes than asked (a disk filling up); taking that
 * as done is how a trail ends up with a torn fragment in its middle.
 */
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** What one write call hands the disk at most: a huge batch never becomes one huge string. */
export const CHUNK_BYTES = 1 << 20;

/**
 * Opens `path` for appending, creating it readable by its owner only. A symbolic link at the path
 * is refused, not followed: it would send the entries wherever it points. So is anything but a
 * regular file (O_NONBLOCK keeps a FIFO without a reader from blocking the open).
 */
export async function openForAppend(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, APPEND, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new Error('it is a symbolic link, which audit files are never written through (the entries would go wherever it points); remove the link', { cause: err });
    }
    throw err;
  }
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new Error('it is not a regular file; remove it or choose another folder');
  }
  return handle;
}

/** Writes all of `buffer`, calling `landed` with each count of bytes that reached the file. */
export async function writeAll(handle: FileHandle, buffer: Buffer, landed: (bytes: number) => void = () => {}): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
    // A write that takes nothing without an error would otherwise loop for ever.
    if (bytesWritten <= 0) throw new Error(`the file took no more bytes (${offset} of ${buffer.length} written)`);
    offset += bytesWritten;
    landed(bytesWritten);
  }
}

/** Appends `lines` (each followed by a newline) in chunks, and syncs them to disk. */
export async function appendLines(path: string, lines: Iterable<string>): Promise<void> {
  const handle = await openForAppend(path);
  try {
    let chunk: string[] = [];
    let size = 0;
    for (const line of lines) {
      chunk.push(line, '\n');
      size += line.length + 1;
      if (size < CHUNK_BYTES) continue;
      await writeAll(handle, Buffer.from(chunk.join('')));
      chunk = [];
      size = 0;
    }
    // What is left (nothing, when the last line filled a chunk: then no write is made).
    await writeAll(handle, Buffer.from(chunk.join('')));
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
