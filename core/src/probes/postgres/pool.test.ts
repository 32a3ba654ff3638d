import { describe, expect, it, vi } from 'vitest';
import type { PgConnection } from './connection.js';
import { SessionPool } from './pool.js';

/* The pool's bookkeeping with stand-in sessions: limits, hand-over, expiry, and the end of the process. */

function session(reusable = true) {
  const s = { reusable, closed: 0, alive: true, close: () => void (s.closed += 1), keepProcessAlive: (on: boolean) => void (s.alive = on) };
  return s as typeof s & PgConnection;
}

describe('SessionPool', () => {
  it('gives the right to open up to the limit, then hands a released session to the next waiter', async () => {
    const pool = new SessionPool(2, 60_000);
    expect(await pool.acquire('k', 60_000)).toBeUndefined();
    expect(await pool.acquire('k', 60_000)).toBeUndefined();
    const third = pool.acquire('k', 60_000);
    const s = session();
    pool.release('k', s, true);
    expect(await third).toBe(s);
    // Another key has limits of its own.
    expect(await pool.acquire('other', 60_000)).toBeUndefined();
  });

  it('passes the right to open on when a session cannot be kept, and closes that session', async () => {
    const pool = new SessionPool(1, 60_000);
    expect(await pool.acquire('k', 60_000)).toBeUndefined();
    const waiter = pool.acquire('k', 60_000);
    const broken = session();
    pool.release('k', broken, false);
    expect(broken.closed).toBe(1);
    expect(await waiter).toBeUndefined();
  });

  it('keeps an idle session without holding the process, and skips one the server ended meanwhile', async () => {
    const pool = new SessionPool(2, 60_000);
    await pool.acquire('k', 60_000);
    await pool.acquire('k', 60_000);
    const gone = session();
    const fine = session();
    pool.release('k', fine, true);
    pool.release('k', gone, true);
    expect([fine.alive, gone.alive]).toEqual([false, false]);
    gone.reusable = false;
    expect(await pool.acquire('k', 60_000)).toBe(fine);
    expect(fine.alive).toBe(true);
    expect(gone.closed).toBe(1);
    // The ended one no longer counts: there is room for a new one.
    expect(await pool.acquire('k', 60_000)).toBeUndefined();
  });

  it('closes an idle session after the idle time, and every idle one when the process ends', async () => {
    vi.useFakeTimers();
    const pool = new SessionPool(3, 10_000);
    await pool.acquire('k', 60_000);
    await pool.acquire('k', 60_000);
    const expiring = session();
    pool.release('k', expiring, true);
    vi.advanceTimersByTime(9_999);
    expect(expiring.closed).toBe(0);
    vi.advanceTimersByTime(1);
    expect(expiring.closed).toBe(1);
    vi.useRealTimers();
    const kept = session();
    pool.release('k', kept, true);
    pool.closeIdle();
    expect(kept.closed).toBe(1);
    // Both slots are free again.
    expect(await pool.acquire('k', 60_000)).toBeUndefined();
    expect(await pool.acquire('k', 60_000)).toBeUndefined();
    expect(await pool.acquire('k', 60_000)).toBeUndefined();
  });
});

describe('SessionPool waiting', () => {
  it('after a short wait at the limit, lets the check open a session of its own outside the pool', async () => {
    vi.useFakeTimers();
    try {
      const pool = new SessionPool(1, 60_000);
      expect(await pool.acquire('k', 100)).toBeUndefined();
      const waiting = pool.acquire('k', 100);
      vi.advanceTimersByTime(100);
      expect(await waiting).toBe('own');
      // The one that gave up is no longer in line: a released session stays in the pool.
      const s = session();
      pool.release('k', s, true);
      expect(await pool.acquire('k', 60_000)).toBe(s);
    } finally {
      vi.useRealTimers();
    }
  });
});
