/**
 * A queue written in batches, one write at a time. Each flush takes what is queued when its turn
 * comes, and a failed write puts its batch back in front: the trail stays in order and nothing
 * is dropped. Shared by the sinks that write whole batches (file, stdout).
 */
export interface OrderedBatches<T> {
  push(item: T): void;
  /** Writes what is queued; rejects with what `write` threw (the items stay queued). */
  flush(): Promise<void>;
  readonly size: number;
}

export function orderedBatches<T>(write: (batch: T[]) => Promise<void>): OrderedBatches<T> {
  let pending: T[] = [];
  let writing: Promise<void> = Promise.resolve();
  return {
    push(item) {
      pending.push(item);
    },
    get size() {
      return pending.length;
    },
    flush() {
      writing = writing
        .catch(() => {})
        .then(async () => {
          const batch = pending;
          pending = [];
          if (batch.length === 0) return;
          try {
            await write(batch);
          } catch (err) {
            pending = [...batch, ...pending];
            throw err;
          }
        });
      return writing;
    },
  };
}
