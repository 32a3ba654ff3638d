import { z } from 'zod';
import { ProviderError } from '../errors.js';
import type { AuditSink, AuditSinkDeps } from '../ports/audit-sink.js';
import { type ChainHead, sealLine } from './chain.js';
import { orderedBatches } from './ordered-batches.js';

/**
 * `stdout`: every entry as one JSON line on standard output, where the CI job log keeps it. The
 * chain is this sink's own: it starts at seq 1 in every process (a resumed run starts a new chain
 * in the new job's log). Entries are written at every flush, in one write.
 */
export const type = 'stdout';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
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

  // Kept for the next flush, in order, when a write fails: nothing is dropped.
  const batches = orderedBatches<string>((batch) =>
    write(`${batch.join('\n')}\n`).catch((err: unknown) => {
      throw new ProviderError(`audit stdout: write failed: ${(err as Error).message}; ${batch.length + batches.size} entries kept for the next flush`, {
        cause: err,
      });
    }),
  );

  return {
    type,
    record(entry) {
      // Sealed at once: a batch kept after a failed write is written again exactly as it was.
      const sealed = sealLine(entry, head, deps.hmacKey);
      head = sealed.head;
      batches.push(sealed.line);
    },
    flush: () => batches.flush(),
  };
}
