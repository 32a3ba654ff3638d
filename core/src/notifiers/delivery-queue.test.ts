import { describe, expect, it } from 'vitest';
import { DeliveryError } from '../errors.js';
import { DeliveryQueue, realTimer, type DeliveryOptions, type DeliveryTimer } from './delivery-queue.js';

/** A timer that records every wait and ends it at once: retries are checked by what they waited, not by waiting. */
function recordingTimer(): DeliveryTimer & { waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

function queue(options: Partial<DeliveryOptions> = {}) {
  const reports: { error: string; undelivered: number }[] = [];
  const timer = recordingTimer();
  const q = new DeliveryQueue({ name: 'test', timer, random: () => 0.5, onFailing: (r) => reports.push(r), ...options });
  return { q, reports, timer };
}

/** A job that fails with each error in turn, then succeeds; it records its calls. */
function flaky(errors: unknown[], log: string[] = [], name = 'job') {
  return async () => {
    log.push(name);
    const err = errors.shift();
    if (err) throw err;
  };
}

describe('DeliveryQueue', () => {
  it('delivers in order, one at a time, and send resolves once delivered', async () => {
    const { q } = queue();
    const log: string[] = [];
    let inFlight = 0;
    const job = (name: string) => async () => {
      inFlight += 1;
      expect(inFlight).toBe(1);
      await Promise.resolve();
      log.push(name);
      inFlight -= 1;
    };
    await Promise.all([q.send(job('a')), q.send(job('b')), q.send(job('c'))]);
    expect(log).toEqual(['a', 'b', 'c']);
    expect(await q.drain(1000)).toEqual({ undelivered: 0 });
  });

  it('waits as long as a 429 asks, then delivers', async () => {
    const { q, timer, reports } = queue();
    const log: string[] = [];
    await q.send(flaky([new DeliveryError('rate limited', { retryable: true, retryAfterMs: 3000 })], log));
    expect(timer.waits).toEqual([3000]);
    expect(log).toEqual(['job', 'job']);
    expect(reports).toEqual([]);
  });

  it('counts rate-limit waits apart from failures: a storm of 429s is waited out, an endless one is given up', async () => {
    const { q, timer, reports } = queue();
    const limited = () => new DeliveryError('rate limited', { retryable: true, retryAfterMs: 1000 });
    const log: string[] = [];
    await q.send(flaky(Array.from({ length: 8 }, limited), log));
    expect(log).toHaveLength(9);
    expect(timer.waits).toEqual(Array.from({ length: 8 }, () => 1000));
    expect(reports).toEqual([]);
    await q.send(flaky(Array.from({ length: 20 }, limited)));
    expect(reports).toEqual([{ error: 'rate limited (after 11 tries)', undelivered: 1 }]);
  });

  it('a message supersedes an update still pending: the update is dropped, not sent after it', async () => {
    const { q } = queue();
    const log: string[] = [];
    let release!: () => void;
    const first = q.send(() => new Promise<void>((resolve) => (release = () => (log.push('first'), resolve()))));
    const dropped = q.update(flaky([], log, 'update'));
    const message = q.send(flaky([], log, 'message'));
    release();
    await Promise.all([first, dropped, message]);
    expect(log).toEqual(['first', 'message']);
  });

  it('backs off on 5xx (500 ms, doubling), and gives a message up after its tries, said once', async () => {
    const { q, timer, reports } = queue();
    const e = () => new DeliveryError('HTTP 503', { retryable: true });
    await q.send(flaky([e(), e(), e(), e(), e()]));
    expect(timer.waits).toEqual([500, 1000, 2000, 4000]);
    expect(reports).toEqual([{ error: 'HTTP 503 (after 5 tries)', undelivered: 1 }]);
    await q.send(flaky([e(), e(), e(), e(), e()]));
    expect(reports).toHaveLength(1);
    expect(await q.drain(1000)).toEqual({ undelivered: 2, error: 'HTTP 503 (after 5 tries)' });
  });

  it('stops trying a destination after a fatal error: later messages are counted, not sent', async () => {
    const { q, reports } = queue();
    const log: string[] = [];
    await q.send(flaky([new DeliveryError('channel_not_found', { fatal: true })], log));
    await q.send(flaky([], log));
    void q.update(flaky([], log));
    expect(log).toEqual(['job']);
    expect(q.isDown).toBe(true);
    expect(reports).toEqual([{ error: 'channel_not_found', undelivered: 1 }]);
    expect((await q.drain(1000)).undelivered).toBe(2);
  });

  it('counts a destination down after messages given up in a row, and a success resets the count', async () => {
    const { q } = queue({ downAfter: 2 });
    const refused = () => new DeliveryError('HTTP 400');
    await q.send(flaky([refused()]));
    await q.send(flaky([]));
    await q.send(flaky([refused()]));
    expect(q.isDown).toBe(false);
    await q.send(flaky([refused()]));
    expect(q.isDown).toBe(true);
  });

  it('does not retry an error that is not a DeliveryError', async () => {
    const { q, reports } = queue();
    const log: string[] = [];
    await q.send(flaky([new Error('boom')], log));
    expect(log).toEqual(['job']);
    expect(reports).toEqual([{ error: 'boom', undelivered: 1 }]);
  });

  it('gives up rather than hold the queue when Retry-After asks for longer than it waits', async () => {
    const { q, timer, reports } = queue({ maxRetryAfterMs: 10_000 });
    await q.send(flaky([new DeliveryError('rate limited', { retryable: true, retryAfterMs: 120_000 })]));
    expect(timer.waits).toEqual([]);
    expect(reports[0]?.error).toBe('rate limited; it asked to wait longer than 10 s');
  });

  it('keeps only the newest pending update of a message in place; messages are never dropped for it', async () => {
    const { q } = queue();
    const log: string[] = [];
    let release!: () => void;
    const first = q.send(() => new Promise<void>((resolve) => (release = () => (log.push('first'), resolve()))));
    const updates = [q.update(flaky([], log, 'u1')), q.update(flaky([], log, 'u2')), q.update(flaky([], log, 'u3'))];
    release();
    await Promise.all([first, ...updates]);
    expect(log).toEqual(['first', 'u3']);
  });

  it('drains within its bound: what is still queued or in flight then is counted undelivered', async () => {
    let end!: () => void;
    const deadline = new Promise<void>((resolve) => (end = resolve));
    const timer: DeliveryTimer = { sleep: () => deadline };
    const q = new DeliveryQueue({ name: 't', timer, onFailing: () => {} });
    void q.send(() => new Promise<void>(() => {}));
    void q.send(async () => {});
    void q.update(async () => {});
    const report = q.drain(5000);
    end();
    expect(await report).toEqual({ undelivered: 2 });
    await q.send(async () => {});
    expect((await q.drain(10)).undelivered).toBe(3);
  });

  it('at the drain, a destination that is erroring gets no more backoff: what is queued gets one last try each', async () => {
    const waits: number[] = [];
    const timer: DeliveryTimer = {
      // Waits end only when aborted: what ends them is the drain, not time.
      sleep: (ms, signal) => new Promise<void>((resolve) => (waits.push(ms), signal.addEventListener('abort', () => resolve(), { once: true }))),
    };
    const reports: { error: string; undelivered: number }[] = [];
    const q = new DeliveryQueue({ name: 't', timer, random: () => 0.5, onFailing: (r) => reports.push(r) });
    const log: string[] = [];
    void q.send(flaky([new DeliveryError('connection refused', { retryable: true }), new DeliveryError('connection refused', { retryable: true })], log));
    void q.send(flaky([new DeliveryError('connection refused', { retryable: true })], log, 'second'));
    await Promise.resolve();
    await Promise.resolve();
    expect(waits).toEqual([500]);
    const drained = q.drain(5000);
    expect(await drained).toEqual({ undelivered: 2, error: 'connection refused' });
    expect(log).toEqual(['job', 'second']);
    expect(waits).toEqual([500, 5000]);
    expect(reports).toHaveLength(1);
  });

  it('has a real timer that ends early when aborted', async () => {
    const stop = new AbortController();
    const slept = realTimer.sleep(60_000, stop.signal);
    stop.abort();
    await expect(slept).resolves.toBeUndefined();
    await expect(realTimer.sleep(0, new AbortController().signal)).resolves.toBeUndefined();
  });
});
