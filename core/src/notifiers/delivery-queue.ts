import { DeliveryError, errorMessage } from '../errors.js';

/** Waits for the queue's retries. Real timers by default (destinations are real); tests inject one. */
export interface DeliveryTimer {
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realTimer: DeliveryTimer = {
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      // Unref'd: a retry that waits never keeps the process alive; the drain bounds the end.
      const t = setTimeout(done, ms);
      t.unref();
      signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
    }),
};

export interface DeliveryOptions {
  /** Names the destination in reports: `slack (#deploys)`. */
  name: string;
  /** Tries per message in all (default 5). */
  maxAttempts?: number;
  /** First backoff after a 5xx or a network error; doubles each try (default 500 ms, at most 8 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A `Retry-After` longer than this gives the message up rather than holding the queue (default 60 s). */
  maxRetryAfterMs?: number;
  /** Messages given up in a row before the destination counts as down and later ones are not tried (default 3). */
  downAfter?: number;
  timer?: DeliveryTimer;
  random?: () => number;
  /** Called once, the first time a message is given up: the destination fails. */
  onFailing(report: { error: string; undelivered: number }): void;
}

export interface DrainReport {
  /** Messages not delivered: given up, dropped while the destination was down, or still queued at the deadline. */
  undelivered: number;
  /** The last reason a message was given up. */
  error?: string;
}

/** Rate-limit waits in a row before a message is given up. */
const MAX_RATE_LIMITED = 10;

/** A delivery; `more` says whether later messages wait behind it (an update in place may then be left to them). */
export type DeliveryJob = (more: boolean) => Promise<void>;

interface Item {
  job: DeliveryJob;
  coalesce: boolean;
  settle: () => void;
}

/**
 * One destination's deliveries, one at a time and in order, beside the rollout: `send` never
 * waits for the destination (it resolves once the message is delivered or given up, and never
 * rejects). 429s wait as `Retry-After` says; 5xx and network errors back off; a fatal error (a
 * bad token, a channel that is gone) or `downAfter` messages given up in a row mark the destination
 * down. Updates of a message in place are coalesced: only the newest waits.
 */
export class DeliveryQueue {
  private readonly items: Item[] = [];
  /** The message being delivered now. */
  private current: Item | undefined;
  private undelivered = 0;
  private givenUpInARow = 0;
  private down = false;
  private reported = false;
  private lastError: string | undefined;
  private readonly stop = new AbortController();
  /** Waiting to retry after an error (not a 429): at the end of the run that wait is not worth holding the job for. */
  private backingOff: AbortController | undefined;
  /** Set once the end of the run waits: later errors are not retried with backoff either. */
  private draining = false;
  private idle: (() => void)[] = [];

  constructor(private readonly o: DeliveryOptions) {}

  /**
   * Queues a message: delivered in order, never dropped for a newer one. It supersedes an update
   * still pending (a message also updates what the update would have): an update built later
   * would otherwise show a newer state than this message, which then sets it back.
   */
  send(job: DeliveryJob): Promise<void> {
    const i = this.items.findIndex((it) => it.coalesce);
    if (i >= 0) this.items.splice(i, 1)[0]?.settle();
    return this.push(job, false);
  }

  /** Queues an in-place update; a pending update not yet started is replaced (it settles then). */
  update(job: DeliveryJob): Promise<void> {
    const i = this.items.findIndex((it) => it.coalesce);
    if (i >= 0) this.items.splice(i, 1)[0]?.settle();
    return this.push(job, true);
  }

  get isDown(): boolean {
    return this.down;
  }

  /**
   * Waits until every queued message is delivered or given up, for at most `deadlineMs`; what is
   * still queued then is counted undelivered. Later sends are dropped.
   */
  async drain(deadlineMs: number): Promise<DrainReport> {
    this.draining = true;
    this.backingOff?.abort();
    if (this.current || this.items.length > 0) {
      const waiting = new AbortController();
      const done = new Promise<void>((resolve) => this.idle.push(resolve));
      await Promise.race([done, (this.o.timer ?? realTimer).sleep(deadlineMs, waiting.signal)]);
      waiting.abort();
    }
    if (!this.stop.signal.aborted) {
      this.stop.abort();
      this.down = true;
      for (const it of this.items.splice(0)) {
        if (!it.coalesce) this.undelivered += 1;
        it.settle();
      }
      if (this.current && !this.current.coalesce) this.undelivered += 1;
    }
    return { undelivered: this.undelivered, ...(this.lastError !== undefined ? { error: this.lastError } : {}) };
  }

  private push(job: DeliveryJob, coalesce: boolean): Promise<void> {
    if (this.down) {
      if (!coalesce) this.undelivered += 1;
      return Promise.resolve();
    }
    return new Promise<void>((settle) => {
      this.items.push({ job, coalesce, settle });
      if (!this.current) void this.run();
    });
  }

  private async run(): Promise<void> {
    for (let item = this.items.shift(); item; item = this.items.shift()) {
      this.current = item;
      await this.deliver(item);
      // At the drain's deadline the item in flight was counted; it settles once it stops.
      this.current = undefined;
      item.settle();
    }
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private async deliver(item: Item): Promise<void> {
    const max = this.o.maxAttempts ?? 5;
    // A 429 is the destination pacing us, not failing: waits it asks for count apart, up to 10 in a row.
    let limited = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        await item.job(this.items.some((it) => !it.coalesce));
        this.givenUpInARow = 0;
        return;
      } catch (err) {
        if (this.stop.signal.aborted) return;
        const e = err instanceof DeliveryError ? err : new DeliveryError(errorMessage(err));
        const wait = this.delayFor(e, attempt);
        if (e.retryAfterMs !== undefined) {
          limited += 1;
          attempt -= 1;
        }
        const erroringAtEnd = this.draining && e.retryAfterMs === undefined;
        if (e.fatal || !e.retryable || attempt >= max || limited > MAX_RATE_LIMITED || wait === undefined || erroringAtEnd) {
          return this.giveUp(item, e, attempt + limited, wait === undefined && e.retryable);
        }
        if (e.retryAfterMs === undefined) {
          // A backoff ends early when the queue drains: a destination that is erroring gets no more time.
          this.backingOff = new AbortController();
          const both = AbortSignal.any([this.stop.signal, this.backingOff.signal]);
          await (this.o.timer ?? realTimer).sleep(wait, both);
          const drained = this.backingOff.signal.aborted;
          this.backingOff = undefined;
          if (drained) return this.giveUp(item, e, attempt, false);
        } else {
          await (this.o.timer ?? realTimer).sleep(wait, this.stop.signal);
        }
        if (this.stop.signal.aborted) return;
      }
    }
  }

  /** How long to wait before the next try; `undefined` when the destination asks for longer than we hold a message. */
  private delayFor(e: DeliveryError, attempt: number): number | undefined {
    if (e.retryAfterMs !== undefined) return e.retryAfterMs <= (this.o.maxRetryAfterMs ?? 60_000) ? e.retryAfterMs : undefined;
    const base = Math.min((this.o.initialBackoffMs ?? 500) * 2 ** (attempt - 1), this.o.maxBackoffMs ?? 8000);
    return Math.round(base * (0.8 + 0.4 * (this.o.random ?? Math.random)()));
  }

  private giveUp(item: Item, e: DeliveryError, attempt: number, waitTooLong: boolean): void {
    if (!item.coalesce) this.undelivered += 1;
    this.givenUpInARow += 1;
    this.lastError = waitTooLong
      ? `${e.message}; it asked to wait longer than ${Math.round((this.o.maxRetryAfterMs ?? 60_000) / 1000)} s`
      : attempt > 1
        ? `${e.message} (after ${attempt} tries)`
        : e.message;
    if (e.fatal || this.givenUpInARow >= (this.o.downAfter ?? 3)) {
      this.down = true;
      for (const it of this.items.splice(0)) {
        if (!it.coalesce) this.undelivered += 1;
        it.settle();
      }
    }
    if (!this.reported) {
      this.reported = true;
      this.o.onFailing({ error: this.lastError, undelivered: this.undelivered });
    }
  }
}
