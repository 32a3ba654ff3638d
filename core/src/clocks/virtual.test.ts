import { describe, expect, it, vi } from 'vitest';
import { createVirtualClock } from './virtual.js';

const START = Date.UTC(2026, 0, 1);

describe('createVirtualClock', () => {
  it('starts at 2026-01-01 by default, or at the given time', () => {
    expect(createVirtualClock().now()).toBe(START);
    expect(createVirtualClock(1000).now()).toBe(1000);
  });

  it('jumps over a long sleep without spending real time', async () => {
    const clock = createVirtualClock();
    const real = Date.now();
    await clock.sleep(30 * 60_000);
    expect(clock.now()).toBe(START + 30 * 60_000);
    expect(Date.now() - real).toBeLessThan(1000);
  });

  it('wakes parallel sleepers in time order, equal times in call order', async () => {
    const clock = createVirtualClock(0);
    const order: string[] = [];
    const nap = (name: string, ms: number) => clock.sleep(ms).then(() => order.push(`${name}@${clock.now()}`));
    await Promise.all([nap('c', 300), nap('a', 100), nap('b1', 200), nap('b2', 200)]);
    expect(order).toEqual(['a@100', 'b1@200', 'b2@200', 'c@300']);
  });

  it('treats a negative sleep as zero', async () => {
    const clock = createVirtualClock(0);
    await clock.sleep(-5);
    expect(clock.now()).toBe(0);
  });

  it('rejects at once with the reason when the signal is already aborted', async () => {
    const clock = createVirtualClock(0);
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(clock.sleep(1000, controller.signal)).rejects.toThrow('cancelled');
    expect(clock.now()).toBe(0);
  });

  it('rejects a sleeper when its signal aborts, without moving time to its wake-up', async () => {
    const clock = createVirtualClock(0);
    const controller = new AbortController();
    const long = clock.sleep(60_000, controller.signal);
    const short = clock.sleep(10).then(() => controller.abort(new Error('deadline')));
    await short;
    await expect(long).rejects.toThrow('deadline');
    expect(clock.now()).toBe(10);
    // Nothing is left pending: a later sleep starts from 10.
    await clock.sleep(5);
    expect(clock.now()).toBe(15);
  });

  it('resolves a sleeper whose signal never aborts and forgets the listener', async () => {
    const clock = createVirtualClock(0);
    const controller = new AbortController();
    await clock.sleep(50, controller.signal);
    controller.abort(new Error('late'));
    expect(clock.now()).toBe(50);
  });

  it('fires a timer at its virtual time when sleepers move the clock', async () => {
    const clock = createVirtualClock(0);
    const fired: number[] = [];
    clock.setTimer(1000, () => fired.push(clock.now()));
    await clock.sleep(5000);
    expect(fired).toEqual([1000]);
    expect(clock.now()).toBe(5000);
  });

  it('fires a timer on wall time as a backstop when nothing moves the clock', async () => {
    const clock = createVirtualClock(0);
    const fn = vi.fn();
    clock.setTimer(20, fn);
    await new Promise((r) => setTimeout(r, 5));
    expect(fn).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(fn).toHaveBeenCalledTimes(1), { timeout: 2000 });
    expect(clock.now()).toBe(0); // a timer alone never moves virtual time
    clock.advance(100);
    expect(fn).toHaveBeenCalledTimes(1); // and fires once only
  });

  it('never fires a cancelled timer', async () => {
    const clock = createVirtualClock(0);
    const fn = vi.fn();
    const cancel = clock.setTimer(10, fn);
    cancel();
    await clock.sleep(100);
    await new Promise((r) => setTimeout(r, 30));
    expect(fn).not.toHaveBeenCalled();
  });

  it('advance() fires due timers and wakes due sleepers by hand', async () => {
    const clock = createVirtualClock(0);
    const fn = vi.fn();
    clock.setTimer(100, fn);
    let woke = false;
    const sleeping = clock.sleep(200).then(() => (woke = true));
    clock.advance(150);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.now()).toBe(150);
    clock.advance(50);
    await sleeping;
    expect(woke).toBe(true);
    expect(clock.now()).toBe(200);
  });

  // The timers due before the earliest sleeper fire first: one that aborts it leaves time there.
  it('lets a deadline timer abort a long sleep at the deadline, leaving time at the deadline', async () => {
    const clock = createVirtualClock(0);
    const controller = new AbortController();
    clock.setTimer(5000, () => controller.abort(new Error('step deadline')));
    await expect(clock.sleep(60_000, controller.signal)).rejects.toThrow('step deadline');
    expect(clock.now()).toBe(5000);
  });
});

describe('hold', () => {
  it('keeps time still while real work is in flight, then moves on', async () => {
    const clock = createVirtualClock(0);
    let release!: () => void;
    const work = new Promise<string>((resolve) => (release = () => resolve('written')));
    const held = clock.hold?.(work);
    const woke: number[] = [];
    const sleeping = clock.sleep(60_000).then(() => woke.push(clock.now()));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(woke).toEqual([]);
    expect(clock.now()).toBe(0);
    release();
    expect(await held).toBe('written');
    await sleeping;
    expect(woke).toEqual([60_000]);
  });

  it('passes a failure of the held work through and still lets time move', async () => {
    const clock = createVirtualClock(0);
    await expect(clock.hold?.(Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    await clock.sleep(1000);
    expect(clock.now()).toBe(1000);
  });
});
