import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { ChainHead } from './chain.js';

/**
 * Where an existing trail ends, read from its end backwards: a resumed run (or a writer after a
 * failed write) continues the chain from the file's last whole entry, whatever the file's size,
 * without reading the file into memory. Torn lines (a crash, a full disk) are skipped and left
 * for `verify`, which reports them.
 */
export interface TrailTail extends ChainHead {
  /** The file does not end with a newline: the next write must start a line of its own. */
  torn: boolean;
}

const BLOCK = 64 * 1024;
const EMPTY: TrailTail = { seq: 0, hash: null, torn: false };

/** The tail of the trail at `path` (an empty chain when there is no file). Never follows a symlink. */
export async function tailOf(path: string): Promise<TrailTail> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return EMPTY;
    const torn = (await readAt(handle, size - 1, 1))[0] !== 0x0a;
    const head = await lastEntry(handle, size);
    return { ...(head ?? { seq: 0, hash: null }), torn };
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** Lines from the last one up; the first line of each block waits for the block before it. */
async function lastEntry(handle: FileHandle, size: number): Promise<ChainHead | undefined> {
  let carry = Buffer.alloc(0);
  for (let position = size; position > 0; ) {
    const length = Math.min(BLOCK, position);
    position -= length;
    const buf = Buffer.concat([await readAt(handle, position, length), carry]);
    let end = buf.length;
    for (let i = buf.length - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      const head = entryHead(buf.subarray(i + 1, end));
      if (head) return head;
      end = i;
    }
    carry = buf.subarray(0, end);
  }
  return entryHead(carry);
}

function entryHead(line: Buffer): ChainHead | undefined {
  try {
    const entry = JSON.parse(line.toString('utf8')) as { seq?: unknown; hash?: unknown };
    if (typeof entry.hash === 'string' && typeof entry.seq === 'number') return { seq: entry.seq, hash: entry.hash };
  } catch {
    // Not JSON, or JSON null: a torn line or an empty one. The chain continues from an entry before it.
  }
  return undefined;
}
