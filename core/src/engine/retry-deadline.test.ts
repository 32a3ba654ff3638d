import { describe, expect, it } from 'vitest';
import { CancelledError, DeadlineExceededError, ProviderError, StepDidNotStopError } from '../errors.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { withDeadline } from './deadline.js';
import { createRealClock } from '../clocks/real.js';
import { withRetry } from './retry.js';

const policy = { attempts: 3, initialDelay: 1000, maxDelay: 30_000 };

describe('withRetry', () => {
  it('retries retryable provider errors with growing, jittered delays', async () => {
    const clock = createVirtualClock(0);
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      policy,
      clock,
      new AbortController().signal,
      async () => {
        calls += 1;
        if (calls < 3) throw new ProviderError('rate limited', { retryable: true });
        return 'ok';
      },
      (_attempt, delay) => delays.push(delay),
      () => 1,
    );
    expect(result).toBe('ok');
    expect(delays).toEqual([1000, 2000]);
    expect(clock.now()).toBe(3000);
  });

  it('does not retry non-retryable errors', async () => {
    let calls = 0;
    const work = async () => {
      calls += 1;
      throw new ProviderError('bad request');
    };
    await expect(withRetry(policy, createVirtualClock(0), new AbortController().signal, work)).rejects.toThrow('bad request');
    expect(calls).toBe(1);
  });

  it('gives up after the last attempt with the last error', async () => {
    let calls = 0;
    const work = async () => {
      calls += 1;
      throw new ProviderError(`503 #${calls}`, { retryable: true });
    };
    await expect(withRetry(policy, createVirtualClock(0), new AbortController().signal, work)).rejects.toThrow('503 #3');
  });

  it('caps the delay at maxDelay', async () => {
    const delays: number[] = [];
    const work = async () => {
      throw new ProviderError('x', { retryable: true });
    };
    await expect(
      withRetry({ attempts: 4, initialDelay: 20_000, maxDelay: 30_000 }, createVirtualClock(0), new AbortController().signal, work, (_a, d) => delays.push(d), () => 1),
    ).rejects.toThrow();
    expect(delays).toEqual([20_000, 30_000, 30_000]);
  });
});

describe('withDeadline', () => {
  it('returns the work result in time', async () => {
    expect(await withDeadline('step', 1000, createRealClock(), new AbortController().signal, async () => 42)).toBe(42);
  });

  it('aborts the work when the deadline passes on a virtual clock', async () => {
    const clock = createVirtualClock(0);
    const err = await withDeadline('web/verify', 60_000, clock, new AbortController().signal, (signal) =>
      clock.sleep(120_000, signal),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toBe('web/verify: deadline of 60s passed');
  });

  it('settles at the deadline even when the work ignores its signal', async () => {
    const err = await withDeadline('stuck', 20, createRealClock(), new AbortController().signal, () => new Promise(() => {}), 30).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StepDidNotStopError);
    expect((err as Error).message).toBe('stuck: did not stop within 30ms after: stuck: deadline of 20ms passed; what it changed is unknown');
  });

  it('waits for the work to stop before it reports the deadline', async () => {
    const clock = createRealClock();
    const order: string[] = [];
    const err = await withDeadline('step', 10, clock, new AbortController().signal, async (signal) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => setTimeout(resolve, 30)));
      order.push('work stopped');
    }).catch((e: unknown) => {
      order.push('reported');
      return e;
    });
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(order).toEqual(['work stopped', 'reported']);
  });

  it('passes cancellation of the parent through with its reason', async () => {
    const parent = new AbortController();
    const p = withDeadline('step', 10_000, createRealClock(), parent.signal, (s) => createRealClock().sleep(5000, s));
    parent.abort(new CancelledError('cancelled: received SIGINT'));
    await expect(p).rejects.toThrow('cancelled: received SIGINT');
  });

  it('refuses to start when the parent is already aborted', async () => {
    const parent = new AbortController();
    parent.abort();
    await expect(withDeadline('step', 1000, createRealClock(), parent.signal, async () => 1)).rejects.toThrow(/step: cancelled/);
  });

  it('reports the work error when nothing aborted', async () => {
    await expect(
      withDeadline('step', 1000, createRealClock(), new AbortController().signal, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
  });
});

describe('real clock', () => {
  it('sleeps, and rejects on abort', async () => {
    const clock = createRealClock();
    const before = clock.now();
    await clock.sleep(5);
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    const c = new AbortController();
    const p = clock.sleep(10_000, c.signal);
    c.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    const aborted = new AbortController();
    aborted.abort(new Error('already'));
    await expect(clock.sleep(1, aborted.signal)).rejects.toThrow('already');
    let fired = false;
    const cancel = clock.setTimer(1, () => (fired = true));
    cancel();
    await clock.sleep(5);
    expect(fired).toBe(false);
  });
});
