import type { Clock } from '../ports/clock.js';

/**
 * A clock whose time jumps to the next wake-up as soon as the process has nothing else queued,
 * so a 30-minute canary with the simulated infrastructure runs in milliseconds. Timers fire at
 * their virtual time or, as a backstop for real work that hangs, at the same span of wall time.
 */
export interface VirtualClock extends Clock {
  /** Moves time forward by hand (tests). Fires timers and wakes sleepers that fall due. */
  advance(ms: number): void;
}

interface Waiter {
  at: number;
  seq: number;
  /** Timers never move time by themselves; only sleepers do. */
  timer: boolean;
  live: boolean;
  fire: () => void;
}

/** A binary min-heap on (at, seq): thousands of parallel sleepers cost O(log n) each. */
class WaiterHeap {
  private items: Waiter[] = [];
  sleepers = 0;

  push(w: Waiter): void {
    this.items.push(w);
    if (!w.timer) this.sleepers += 1;
    let i = this.items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(this.items[i] as Waiter, this.items[parent] as Waiter)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The earliest live waiter, dropping cancelled ones on the way. */
  peek(): Waiter | undefined {
    while (this.items.length > 0 && !(this.items[0] as Waiter).live) this.pop();
    return this.items[0];
  }

  pop(): Waiter | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (this.items.length > 0) {
      this.items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.items.length && before(this.items[l] as Waiter, this.items[m] as Waiter)) m = l;
        if (r < this.items.length && before(this.items[r] as Waiter, this.items[m] as Waiter)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private swap(a: number, b: number): void {
    const t = this.items[a] as Waiter;
    this.items[a] = this.items[b] as Waiter;
    this.items[b] = t;
  }
}

const before = (a: Waiter, b: Waiter) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export function createVirtualClock(startMs = Date.UTC(2026, 0, 1)): VirtualClock {
  let now = startMs;
  let seq = 0;
  const heap = new WaiterHeap();
  let scheduled = false;
  let held = 0;

  const cancel = (w: Waiter) => {
    if (!w.live) return;
    w.live = false;
    if (!w.timer) heap.sleepers -= 1;
  };

  /** Fires everything due up to `limit`; time moves only to the waiters that fire. */
  const fireUntil = (limit: number) => {
    for (let w = heap.peek(); w && w.at <= limit; w = heap.peek()) {
      heap.pop();
      cancel(w);
      now = Math.max(now, w.at);
      w.fire();
    }
  };

  // Runs after the current microtasks and I/O callbacks: jumps to the earliest wake-up.
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      // Real work in progress: time stands still until it ends (release() schedules again).
      if (held > 0 || heap.sleepers === 0) return;
      // The earliest sleeper sets how far time may jump; timers due before it fire on the way.
      let next = heap.peek();
      while (next?.timer) {
        heap.pop();
        cancel(next);
        now = Math.max(now, next.at);
        next.fire();
        if (heap.sleepers === 0) return;
        next = heap.peek();
      }
      if (next) fireUntil(next.at);
      if (heap.sleepers > 0) schedule();
    });
  };

  return {
    simulated: true,
    now: () => now,
    advance(ms) {
      const target = now + Math.max(0, ms);
      fireUntil(target);
      now = Math.max(now, target);
    },
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => {
          cancel(waiter);
          reject(signal?.reason);
        };
        const waiter: Waiter = {
          at: now + Math.max(0, ms),
          seq: seq++,
          timer: false,
          live: true,
          fire: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        heap.push(waiter);
        schedule();
      });
    },
    hold(work) {
      held += 1;
      const release = () => {
        held -= 1;
        if (held === 0) schedule();
      };
      return work.then(
        (value) => {
          release();
          return value;
        },
        (err: unknown) => {
          release();
          throw err;
        },
      );
    },
    setTimer(ms, fn) {
      const waiter: Waiter = {
        at: now + Math.max(0, ms),
        seq: seq++,
        timer: true,
        live: true,
        fire: () => {
          clearTimeout(real);
          fn();
        },
      };
      const real = setTimeout(() => {
        if (!waiter.live) return;
        cancel(waiter);
        fn();
      }, ms);
      real.unref();
      heap.push(waiter);
      return () => {
        cancel(waiter);
        clearTimeout(real);
      };
    },
  };
}
