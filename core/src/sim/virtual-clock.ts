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
  fire: () => void;
}

export function createVirtualClock(startMs = Date.UTC(2026, 0, 1)): VirtualClock {
  let now = startMs;
  let seq = 0;
  const pending = new Set<Waiter>();
  let scheduled = false;

  const due = () => [...pending].sort((a, b) => a.at - b.at || a.seq - b.seq);

  const fireUntil = (limit: number) => {
    for (const w of due()) {
      if (w.at > limit) break;
      if (!pending.has(w)) continue; // removed by an earlier callback (an abort)
      pending.delete(w);
      now = Math.max(now, w.at);
      w.fire();
    }
    now = Math.max(now, limit);
  };

  // Runs after the current microtasks and I/O callbacks: jumps to the earliest wake-up.
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const sleepers = due().filter((w) => !timers.has(w));
      const first = sleepers[0];
      if (!first) return;
      fireUntil(first.at);
      if ([...pending].some((w) => !timers.has(w))) schedule();
    });
  };
  const timers = new WeakSet<Waiter>();

  return {
    now: () => now,
    advance(ms) {
      fireUntil(now + ms);
    },
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => {
          pending.delete(waiter);
          reject(signal?.reason);
        };
        const waiter: Waiter = {
          at: now + Math.max(0, ms),
          seq: seq++,
          fire: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        pending.add(waiter);
        schedule();
      });
    },
    setTimer(ms, fn) {
      let done = false;
      const once = () => {
        if (done) return;
        done = true;
        pending.delete(waiter);
        clearTimeout(real);
        fn();
      };
      const waiter: Waiter = { at: now + Math.max(0, ms), seq: seq++, fire: once };
      timers.add(waiter);
      pending.add(waiter);
      const real = setTimeout(once, ms);
      real.unref();
      return () => {
        done = true;
        pending.delete(waiter);
        clearTimeout(real);
      };
    },
  };
}
