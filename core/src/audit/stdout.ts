import { z } from 'zod';
import { errorMessage, ProviderError } from '../errors.js';
import type { AuditSink, AuditSinkDeps } from '../ports/audit-sink.js';
import { CHUNK_BYTES } from './append.js';
import { type ChainHead, sealLine } from './chain.js';
import { orderedBatches, type WriteProgress } from './ordered-batches.js';
import { untilAborted } from './until-aborted.js';

/**
 * `stdout`: every entry as one JSON line on standard output, where the CI job log keeps it. The
 * chain is this sink's own: it starts at seq 1 in every process (a resumed run starts a new chain
 * in the new job's log). Entries are written at every flush, a chunk of at most 1 MiB per write.
 */
export const type = 'stdout';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    bestEffort: z
      .boolean()
      .default(false)
      .describe('When standard output cannot be written, warn and run without it (by default a failure is reported at the end of the run)'),
  })
  .describe('JSON Lines on standard output (the CI job log), hash-chained');
export type StdoutAuditConfig = z.infer<typeof configSchema>;

/** Where the lines go: standard output unless a stream is injected (tests, embedding). */
export interface StdoutAuditDeps extends AuditSinkDeps {
  stream?: NodeJS.WritableStream;
}

export function create(_config: StdoutAuditConfig, deps: StdoutAuditDeps): AuditSink {
  const stream = deps.stream ?? process.stdout;
  let head: ChainHead = { seq: 0, hash: null };

  const write = (text: string) =>
    new Promise<void>((resolve, reject) => {
      // A failed write also emits 'error' on the stream (just after the callback): listened to here
      // so that it cannot crash the process, and left to the callback to report.
      const ignore = () => {};
      stream.on('error', ignore);
      const done = (err?: Error | null) => {
        setImmediate(() => stream.off('error', ignore));
        if (err) reject(err);
        else resolve();
      };
      try {
        stream.write(text, done);
      } catch (err) {
        done(err as Error);
      }
    });

  // A chunk whose write failed is kept with everything after it; chunks already taken are not
  // written twice.
  const writeBatch = async (batch: string[], progress: WriteProgress) => {
    let from = 0;
    let size = 0;
    for (let i = 0; i < batch.length; i++) {
      size += (batch[i] as string).length + 1;
      if (size < CHUNK_BYTES && i < batch.length - 1) continue;
      await write(`${batch.slice(from, i + 1).join('\n')}\n`);
      progress.written = i + 1;
      from = i + 1;
      size = 0;
    }
  };

  const batches = orderedBatches<string>(writeBatch);
  const flush = () =>
    batches.flush().catch((err: unknown) => {
      throw new ProviderError(`audit stdout: write failed: ${errorMessage(err)}; ${batches.size} entries kept for the next flush`, { cause: err });
    });

  return {
    type,
    get queued() {
      return batches.size;
    },
    // Standard output is there or not; a broken pipe shows at the first write.
    open: () => Promise.resolve(),
    record(entry) {
      // Sealed at once: a batch kept after a failed write is written again exactly as it was.
      const sealed = sealLine(entry, head, deps.hmacKey);
      head = sealed.head;
      batches.push(sealed.line);
    },
    flush,
    async close(deadline) {
      const error = await untilAborted(batches.flush(), deadline);
      const undelivered = batches.size;
      return undelivered === 0 ? { undelivered, dropped: 0 } : { undelivered, dropped: 0, error: error as string };
    },
  };
}
