/**
 * A queue written in batches, one write at a time. Each flush takes what is queued when its turn
 * comes. A failed write puts back what it did not write, in front: the trail stays in order,
 * nothing is dropped, and nothing that reached the destination is written twice. Shared by the
 * sinks that write whole batches (file, stdout).
 */
export interface OrderedBatches<T> {
  push(item: T): void;
  /** Writes what is queued; rejects with what `write` threw (what it did not write stays queued). */
  flush(): Promise<void>;
  /** Items queued or being written, not yet at the destination. */
  readonly size: number;
}

/** How far a write got: `written` items from the front of its batch are at the destination. */
export interface WriteProgress {
  written: number;
}

export function orderedBatches<T>(write: (batch: T[], progress: WriteProgress) => Promise<void>): OrderedBatches<T> {
  let pending: T[] = [];
  let writing: Promise<void> = Promise.resolve();
  let inFlight: { batch: T[]; progress: WriteProgress } | undefined;
  return {
    push(item) {
      pending.push(item);
    },
    get size() {
      return pending.length + (inFlight ? inFlight.batch.length - inFlight.progress.written : 0);
    },
    flush() {
      writing = writing
        .catch(() => {})
        .then(async () => {
          const batch = pending;
          pending = [];
          if (batch.length === 0) return;
          const progress: WriteProgress = { written: 0 };
          inFlight = { batch, progress };
          try {
            await write(batch, progress);
          } catch (err) {
            pending = [...batch.slice(progress.written), ...pending];
            throw err;
          } finally {
            inFlight = undefined;
          }
        });
      return writing;
    },
  };
}
