import type { PgConnection } from './connection.js';

/*
 * Sessions of `postgres` probes kept for the next check of the same server, database and role.
 * A new session costs the server a process and the client a login (its backend fork and catalog
 * loading on the server, the SCRAM exchange on both sides); twenty probes of one database in a
 * snapshot paid it twenty times at once, and a guard or a `waitFor` paid it at every sample. At
 * most MAX_SESSIONS per key are kept: a check beyond them waits for one to come back (queries of
 * a millisecond free one at once), but only for a part of its own timeout: then it opens a session
 * of its own that is not kept, so slow queries still run side by side. A session
 * goes back only when its check ended cleanly (the transaction rolled back, the session reset);
 * an idle one is closed after IDLE_MS, and never keeps the process running.
 */

const MAX_SESSIONS = 4;
const IDLE_MS = 10_000;

/**
 * What `acquire` hands out: an idle session, the right to open one that goes back to the pool
 * (`undefined`), or `'own'`: open one outside the pool and close it after the check.
 */
export type Lease = PgConnection | undefined | 'own';

interface Entry {
  idle: Array<{ connection: PgConnection; timer: NodeJS.Timeout }>;
  /** Sessions counted against MAX_SESSIONS: idle, in use, or being opened. */
  open: number;
  waiting: Array<(lease: PgConnection | undefined) => void>;
}

export class SessionPool {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly max = MAX_SESSIONS,
    private readonly idleMs = IDLE_MS,
  ) {}

  /**
   * An idle session of `key` that is still usable, else the right to open one: at the limit, the
   * first session released within `waitMs`, else `'own'`.
   */
  acquire(key: string, waitMs: number): Promise<Lease> {
    const entry = this.entry(key);
    for (let kept = entry.idle.pop(); kept; kept = entry.idle.pop()) {
      clearTimeout(kept.timer);
      if (kept.connection.reusable) {
        kept.connection.keepProcessAlive(true);
        return Promise.resolve(kept.connection);
      }
      kept.connection.close();
      entry.open -= 1;
    }
    if (entry.open < this.max) {
      entry.open += 1;
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const waiter = (lease: PgConnection | undefined) => {
        clearTimeout(timer);
        resolve(lease);
      };
      const timer = setTimeout(() => {
        entry.waiting = entry.waiting.filter((w) => w !== waiter);
        resolve('own');
      }, waitMs);
      timer.unref();
      entry.waiting.push(waiter);
    });
  }

  /**
   * Gives back what `acquire` gave: a session to keep (`reusable`), or the right to open one
   * (after closing the session, if any, that cannot be used again).
   */
  release(key: string, connection: PgConnection | undefined, reusable: boolean): void {
    const entry = this.entry(key);
    if (!reusable || !connection) connection?.close();
    const next = entry.waiting.shift();
    if (next) {
      next(reusable ? connection : undefined);
      return;
    }
    if (!reusable || !connection) {
      entry.open -= 1;
      return;
    }
    connection.keepProcessAlive(false);
    const timer = setTimeout(() => {
      entry.idle = entry.idle.filter((k) => k.connection !== connection);
      entry.open -= 1;
      connection.close();
    }, this.idleMs);
    timer.unref();
    entry.idle.push({ connection, timer });
  }

  /** Closes every idle session (the process is about to end). */
  closeIdle(): void {
    for (const entry of this.entries.values()) {
      for (const { connection, timer } of entry.idle) {
        clearTimeout(timer);
        connection.close();
        entry.open -= 1;
      }
      entry.idle = [];
    }
  }

  private entry(key: string): Entry {
    let entry = this.entries.get(key);
    if (!entry) this.entries.set(key, (entry = { idle: [], open: 0, waiting: [] }));
    return entry;
  }
}
