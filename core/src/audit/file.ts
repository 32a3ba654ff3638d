import { mkdir, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { errorMessage, ProviderError } from '../errors.js';
import type { AuditDrainReport, AuditSink, AuditSinkDeps } from '../ports/audit-sink.js';
import { CHUNK_BYTES, openForAppend, writeAll } from './append.js';
import { type ChainHead, sealLine } from './chain.js';
import type { UnsealedEntry } from './entry.js';
import { orderedBatches, type WriteProgress } from './ordered-batches.js';
import { tailOf, type TrailTail } from './tail.js';
import { untilAborted } from './until-aborted.js';

/**
 * `file`: one JSON Lines file per run, `<dir>/<run-id>.jsonl`. Entries are written in batches,
 * appended in chunks and fsynced, so a crash loses at most the batch being written; a resumed run
 * continues the chain where the file ends. A write the disk takes only in part is never taken as
 * done: what did not land stays queued, and the next write starts from the file's real end.
 */
export const type = 'file';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    dir: z.string().default('.rollgate/audit').describe('Folder for <run-id>.jsonl files, relative to the working directory'),
    bestEffort: z
      .boolean()
      .default(false)
      .describe('When the file cannot be written, warn and run without it (by default the run does not start, and a later failure is reported at the end)'),
  })
  .describe('JSON Lines file per run, hash-chained');
export type FileAuditConfig = z.infer<typeof configSchema>;

export function create(config: FileAuditConfig, deps: AuditSinkDeps): AuditSink {
  const dir = resolve(config.dir);
  const path = join(dir, `${deps.runId}.jsonl`);
  /** Where the file ends; unknown (read again from the file) at first and after a failed write. */
  let head: TrailTail | undefined;

  const prepare = async () => {
    // A run id that is no plain file name (`../x`) would write outside the folder.
    if (basename(path) !== `${deps.runId}.jsonl`) throw new Error(`run id '${deps.runId}' is not a plain file name`);
    await mkdir(dir, { recursive: true });
  };

  const write = async (batch: UnsealedEntry[], progress: WriteProgress) => {
    try {
      await prepare();
      // Opened first: a symbolic link at the path is refused before anything is read through it.
      const handle = await openForAppend(path);
      try {
        head ??= await tailOf(path);
        head = await appendBatch(handle, batch, head, progress, deps.hmacKey);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      // The file's real end is read again before the next write: it may hold part of this batch,
      // and it may end mid-line, where the next write must start a line of its own.
      head = undefined;
      throw new ProviderError(`audit file ${path}: write failed: ${errorMessage(err)}`, { cause: err });
    }
  };

  const batches = orderedBatches(write);
  return {
    type,
    get queued() {
      return batches.size;
    },
    async open() {
      try {
        await prepare();
        const handle = await openForAppend(path);
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      } catch (err) {
        throw new ProviderError(`audit file ${path}: cannot be written: ${errorMessage(err)}`, { cause: err });
      }
    },
    record: (entry) => batches.push(entry),
    flush: () => batches.flush(),
    close: async (deadline): Promise<AuditDrainReport> => {
      const error = await untilAborted(batches.flush(), deadline);
      const undelivered = batches.size;
      // Entries still queued have an error: the flush's own, or the deadline.
      return undelivered === 0 ? { undelivered, dropped: 0 } : { undelivered, dropped: 0, error: error as string };
    },
  };
}

/**
 * Seals and appends `batch` after `head`, a chunk at a time, counting in `progress` the entries
 * whose line is wholly in the file (a short write can leave the last one cut). Returns the new head.
 */
async function appendBatch(
  handle: FileHandle,
  batch: UnsealedEntry[],
  head: TrailTail,
  progress: WriteProgress,
  key: string | undefined,
): Promise<TrailTail> {
  let landed = 0;
  // Byte offsets (from the start of this append) where each sealed entry's JSON ends.
  const ends: number[] = [];
  const count = (bytes: number) => {
    landed += bytes;
    while (progress.written < ends.length && (ends[progress.written] as number) <= landed) progress.written += 1;
  };
  let offset = 0;
  let next: ChainHead = head;
  let chunk: string[] = head.torn ? ['\n'] : [];
  let size = chunk.length;
  for (let i = 0; i < batch.length; i++) {
    const sealed = sealLine(batch[i] as UnsealedEntry, next, key);
    next = sealed.head;
    const bytes = Buffer.byteLength(sealed.line);
    ends.push(offset + size + bytes);
    chunk.push(sealed.line, '\n');
    size += bytes + 1;
    if (size < CHUNK_BYTES && i < batch.length - 1) continue;
    await writeAll(handle, Buffer.from(chunk.join('')), count);
    offset += size;
    chunk = [];
    size = 0;
  }
  return { ...next, torn: false };
}
