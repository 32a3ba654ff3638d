import { describe, expect, it } from 'vitest';
import { NoDataError, ProviderError } from '../errors.js';
import type { RunEventBody } from '../model/events.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { MetricSpec } from '../ports/strategy.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { judge, runAnalysis, runMetric, type AnalysisEnv } from './analysis.js';

const spec = (overrides: Partial<MetricSpec> = {}): MetricSpec => ({
  name: 'errors',
  provider: 'p',
  query: 'q',
  successCondition: 'result < 0.05',
  intervalMs: 10_000,
  count: 3,
  initialDelayMs: 0,
  failureLimit: 0,
  consecutiveErrorLimit: 2,
  inconclusiveLimit: 0,
  onNoData: 'inconclusive',
  dryRun: false,
  ...overrides,
});

/** A provider that answers from a script: numbers, or errors to throw, in order (the last repeats). */
function env(answers: Record<string, (number | Error)[]>) {
  const clock = createVirtualClock(0);
  const events: Extract<RunEventBody, { kind: 'analysis.measured' }>[] = [];
  const calls: Record<string, number> = {};
  const provider = (name: string): MetricProvider => ({
    type: 'fake',
    async query(query) {
      const list = answers[`${name}:${query}`] ?? answers[query] ?? [];
      const i = Math.min(calls[query] ?? 0, list.length - 1);
      calls[query] = (calls[query] ?? 0) + 1;
      const answer = list[i];
      if (answer instanceof Error) throw answer;
      return answer as number;
    },
  });
  const e: AnalysisEnv = { clock, stage: 'web', provider, query: (p, q) => p.query(q, undefined as never), emit: (b) => events.push(b) };
  return { env: e, events, clock, calls };
}

const signal = () => new AbortController().signal;

describe('judge', () => {
  it.each<[Partial<MetricSpec>, number, string]>([
    [{ successCondition: 'result < 0.05' }, 0.01, 'succeeded'],
    [{ successCondition: 'result < 0.05' }, 0.2, 'failed'],
    [{ successCondition: undefined, failureCondition: 'result > 0.1' }, 0.2, 'failed'],
    [{ successCondition: undefined, failureCondition: 'result > 0.1' }, 0.05, 'succeeded'],
    [{ successCondition: 'result < 0.05', failureCondition: 'result > 0.1' }, 0.07, 'inconclusive'],
    [{ successCondition: 'result < 0.05', failureCondition: 'result > 0.1' }, 0.2, 'failed'],
  ])('%j on %d is %s', (overrides, value, verdict) => {
    expect(judge(spec(overrides), value).verdict).toBe(verdict);
  });
});

describe('runMetric', () => {
  it('measures count times, interval apart, after the initial delay, recording each value and verdict', async () => {
    const { env: e, events, clock } = env({ q: [0.01, 0.02, 0.03] });
    const r = await runMetric(spec({ initialDelayMs: 5000 }), e, signal());
    expect(r.phase).toBe('succeeded');
    expect(events.map((ev) => [ev.value, ev.verdict, ev.condition])).toEqual([
      [0.01, 'succeeded', 'success: result < 0.05'],
      [0.02, 'succeeded', 'success: result < 0.05'],
      [0.03, 'succeeded', 'success: result < 0.05'],
    ]);
    expect(clock.now()).toBe(25_000);
  });

  it('fails as soon as failures pass the limit, and says why', async () => {
    const { env: e } = env({ q: [0.2, 0.3, 0.01] });
    const r = await runMetric(spec({ failureLimit: 1 }), e, signal());
    expect(r.phase).toBe('failed');
    expect(r.measurements).toHaveLength(2);
    expect(r.message).toBe('errors: 2 failed measurement(s), limit 1; last: 0.3 (result < 0.05 is false)');
  });

  it('counts provider errors in a row and ends errored past the limit; a success resets the count', async () => {
    const boom = new ProviderError('503 from prometheus', { retryable: true });
    const { env: e } = env({ q: [boom, boom, 0.01, boom, boom, boom] });
    const r = await runMetric(spec({ count: 10 }), e, signal());
    expect(r.phase).toBe('errored');
    expect(r.measurements.map((m) => m.verdict)).toEqual(['errored', 'errored', 'succeeded', 'errored', 'errored', 'errored']);
    expect(r.message).toBe('errors: 3 errors in a row, limit 2; last: 503 from prometheus');
  });

  it('never passes on errors: errored measurements do not count toward count, and every one errored ends errored', async () => {
    const boom = new ProviderError('no answer from prometheus', { retryable: true });
    const allErrors = await runMetric(spec({ count: 3, consecutiveErrorLimit: 4 }), env({ q: [boom] }).env, signal());
    expect(allErrors.phase).toBe('errored');
    expect(allErrors.measurements).toHaveLength(5);
    expect(allErrors.message).toBe('errors: 5 errors in a row, limit 4; last: no answer from prometheus');
    // Two errors out of three: measured again until three measurements count.
    const some = env({ q: [boom, 0.01, boom, 0.02, 0.03] });
    const mixed = await runMetric(spec({ count: 3, consecutiveErrorLimit: 4 }), some.env, signal());
    expect(mixed.phase).toBe('succeeded');
    expect(mixed.measurements.map((m) => m.verdict)).toEqual(['errored', 'succeeded', 'errored', 'succeeded', 'succeeded']);
    expect(mixed.message).toBe('errors: 3 measurement(s) within limits (2 errored, not counted)');
  });

  it('stops at once under a signal that had already aborted (it never measures forever)', async () => {
    const { env: e, events } = env({ q: [0.01] });
    const controller = new AbortController();
    controller.abort(new Error('rollout ended'));
    await expect(runMetric(spec(), e, controller.signal, true)).rejects.toThrow('rollout ended');
    await expect(runAnalysis([spec()], e, controller.signal, true)).rejects.toThrow('rollout ended');
    expect(events).toHaveLength(0);
  });

  it.each<[MetricSpec['onNoData'], string]>([
    ['inconclusive', 'inconclusive'],
    ['fail', 'failed'],
    ['pass', 'succeeded'],
  ])('treats no data as the user decided (onNoData: %s)', async (onNoData, phase) => {
    const { env: e, events } = env({ q: [new NoDataError('no samples for web')] });
    const r = await runMetric(spec({ onNoData, count: 1 }), e, signal());
    expect(r.phase).toBe(phase);
    expect(events[0]).toMatchObject({ value: null, message: `no data (onNoData: ${onNoData}): no samples for web` });
  });

  it('runs in the background until stopped, unless a limit decides first, or its count when it has one', async () => {
    const counted = env({ q: [0.01] });
    expect((await runMetric(spec({ count: 2 }), counted.env, signal(), true)).phase).toBe('succeeded');
    expect(counted.events).toHaveLength(2);
    const { env: e, events } = env({ q: [0.01] });
    const controller = new AbortController();
    const running = runMetric(spec({ count: undefined }), e, controller.signal, true);
    while (events.length < 5) await new Promise((r) => setImmediate(r));
    controller.abort(new Error('rollout ended'));
    await expect(running).rejects.toThrow('rollout ended');
    const failing = env({ q: [0.01, 0.01, 0.5] });
    expect((await runMetric(spec({ count: undefined }), failing.env, signal(), true)).phase).toBe('failed');
  });
});

describe('runAnalysis', () => {
  it('takes the worst phase of the metrics that count; dry-run metrics only record', async () => {
    const { env: e } = env({ good: [0.01], bad: [0.9], nodata: [new NoDataError('none')] });
    const result = await runAnalysis(
      [spec({ name: 'good', query: 'good', count: 1 }), spec({ name: 'bad', query: 'bad', count: 1, dryRun: true }), spec({ name: 'nodata', query: 'nodata', count: 1 })],
      e,
      signal(),
    );
    expect(result.phase).toBe('inconclusive');
    expect(result.metrics.map((m) => [m.name, m.phase])).toEqual([
      ['good', 'succeeded'],
      ['bad', 'failed'],
      ['nodata', 'inconclusive'],
    ]);
    expect(result.message).toMatch(/^nodata: 1 inconclusive measurement\(s\), limit 0/);
  });

  it('stops the other metrics once one fails', async () => {
    const { env: e, calls } = env({ fast: [0.9], slow: [0.01] });
    const result = await runAnalysis([spec({ name: 'fast', query: 'fast', count: 1 }), spec({ name: 'slow', query: 'slow', count: 100 })], e, signal());
    expect(result.phase).toBe('failed');
    expect(calls.slow).toBeLessThan(100);
    expect(result.metrics[1]).toMatchObject({ name: 'slow', message: 'slow: stopped' });
  });

  it('succeeds with no counting metrics, and passes an outer abort through', async () => {
    const { env: e } = env({ q: [0.01] });
    expect(await runAnalysis([], e, signal())).toEqual({ phase: 'succeeded', metrics: [], message: 'all metrics within limits' });
    const controller = new AbortController();
    const running = runAnalysis([spec({ count: 50 })], e, controller.signal);
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('cancelled'));
    await expect(running).rejects.toThrow('cancelled');
  });

  it('passes an abort that interrupts a query through', async () => {
    const { env: e } = env({});
    const hanging: AnalysisEnv = {
      ...e,
      provider: () => ({ type: 'slow', query: () => new Promise<number>(() => {}) }),
      query: (_p, _q, s) => new Promise<number>((_, reject) => s.addEventListener('abort', () => reject(new Error('query cancelled')))),
    };
    const controller = new AbortController();
    const running = runAnalysis([spec()], hanging, controller.signal);
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('rollout cancelled'));
    await expect(running).rejects.toThrow('query cancelled');
  });

  it('reports an inconclusive background metric as decided', async () => {
    const { env: e } = env({ q: [0.07] });
    const result = await runAnalysis([spec({ failureCondition: 'result > 0.1' })], e, signal(), true);
    expect(result.phase).toBe('inconclusive');
  });
});
