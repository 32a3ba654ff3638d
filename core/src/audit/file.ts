import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ProviderError } from '../errors.js';
import type { AuditSink, AuditSinkDeps } from '../ports/audit-sink.js';
import { type ChainHead, sealLine } from './chain.js';
import type { AuditEntry, UnsealedEntry } from './entry.js';
import { orderedBatches } from './ordered-batches.js';

/**
 * `file`: one JSON Lines file per run, `<dir>/<run-id>.jsonl`. Entries are written in batches at
 * every journal write and at the end, appended and fsynced, so a crash loses at most the batch
 * being written; a resumed run continues the chain where the file ends.
 */
export const type = 'file';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    dir: z.string().default('.rollgate/audit').describe('Folder for <run-id>.jsonl files, relative to the working directory'),
  })
  .describe('JSON Lines file per run, hash-chained');
export type FileAuditConfig = z.infer<typeof configSchema>;

export function create(config: FileAuditConfig, deps: AuditSinkDeps): AuditSink {
  const dir = resolve(config.dir);
  const path = join(dir, `${deps.runId}.jsonl`);
  let head: (ChainHead & { torn?: boolean }) | undefined;

  const write = async (batch: UnsealedEntry[]) => {
    try {
      await mkdir(dir, { recursive: true });
      head ??= await tailOf(path);
      const lines: string[] = [];
      let next = head;
      for (const entry of batch) {
        const sealed = sealLine(entry, next, deps.hmacKey);
        lines.push(sealed.line);
        next = sealed.head;
      }
      const handle = await open(path, 'a', 0o600);
      try {
        // After a torn last line (a crash mid-write), start on a line of our own.
        await handle.write(`${head.torn ? '\n' : ''}${lines.join('\n')}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      head = next;
    } catch (err) {
      throw new ProviderError(`audit file ${path}: write failed: ${(err as Error).message}`, { cause: err });
    }
  };

  const batches = orderedBatches(write);
  return {
    type,
    record: (entry) => batches.push(entry),
    flush: () => batches.flush(),
  };
}

/** Where an existing trail ends: its last whole entry. A torn last line is left for `verify`. */
async function tailOf(path: string): Promise<ChainHead & { torn?: boolean }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { seq: 0, hash: null };
  }
  const torn = text.length > 0 && !text.endsWith('\n');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const entry = JSON.parse(lines[i] as string) as AuditEntry;
      if (typeof entry.hash === 'string' && typeof entry.seq === 'number') return { seq: entry.seq, hash: entry.hash, torn };
    } catch {
      // A torn line from a crash: the chain continues from the last whole entry.
    }
  }
  return { seq: 0, hash: null, torn };
}
