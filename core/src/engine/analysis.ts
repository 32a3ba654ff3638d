import { errorMessage, NoDataError } from '../errors.js';
import type { RunEventBody } from '../model/events.js';
import type { Clock } from '../ports/clock.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { MetricSpec } from '../ports/strategy.js';
import { followAbort } from '../util/abort.js';
import { compileCondition } from '../util/expression.js';
import { formatMeasured } from '../util/format-number.js';

/**
 * Metric analysis with Argo Rollouts' semantics, kept apart: `failed` rolls back, `errored` (the
 * provider kept failing past its limit) rolls back too, `inconclusive` pauses for a person.
 * "No data" is whatever the metric's `onNoData` says, never a silent pass by default.
 */
export type Verdict = 'succeeded' | 'failed' | 'inconclusive' | 'errored';

export interface Measurement {
  value: number | null;
  verdict: Verdict;
  /** Why this verdict: the condition that decided, or the error. */
  message: string;
}

export interface MetricResult {
  name: string;
  phase: Verdict;
  dryRun: boolean;
  measurements: Measurement[];
  /** Why the metric ended as it did, for people. */
  message: string;
}

export interface AnalysisResult {
  phase: Verdict;
  metrics: MetricResult[];
  message: string;
}

export interface AnalysisEnv {
  clock: Clock;
  provider(name: string): MetricProvider;
  /** Runs `query` on the provider with a context carrying `signal`. */
  query(provider: MetricProvider, query: string, signal: AbortSignal): Promise<number>;
  emit(body: Extract<RunEventBody, { kind: 'analysis.measured' }>): void;
  stage: string;
}

/** Judges one value: the failure condition first, then the success condition. */
export function judge(metric: MetricSpec, value: number): Measurement {
  const scope = { result: value };
  if (metric.failureCondition !== undefined && compileCondition(metric.failureCondition)(scope)) {
    return { value, verdict: 'failed', message: `${metric.failureCondition} is true` };
  }
  if (metric.successCondition === undefined) return { value, verdict: 'succeeded', message: `${metric.failureCondition} is false` };
  if (compileCondition(metric.successCondition)(scope)) return { value, verdict: 'succeeded', message: `${metric.successCondition} is true` };
  // With both conditions, a value that meets neither is undecided, as in Argo Rollouts.
  return metric.failureCondition !== undefined
    ? { value, verdict: 'inconclusive', message: `neither ${metric.successCondition} nor ${metric.failureCondition}` }
    : { value, verdict: 'failed', message: `${metric.successCondition} is false` };
}

const describeCondition = (m: MetricSpec) =>
  [m.successCondition && `success: ${m.successCondition}`, m.failureCondition && `failure: ${m.failureCondition}`].filter(Boolean).join('; ');

/** Takes one measurement; errors and no-data become verdicts, never exceptions. */
async function measure(metric: MetricSpec, env: AnalysisEnv, signal: AbortSignal): Promise<Measurement> {
  try {
    const value = await env.query(env.provider(metric.provider), metric.query, signal);
    return judge(metric, value);
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof NoDataError) {
      const verdict = metric.onNoData === 'fail' ? 'failed' : metric.onNoData === 'pass' ? 'succeeded' : 'inconclusive';
      return { value: null, verdict, message: `no data (onNoData: ${metric.onNoData}): ${err.message}` };
    }
    return { value: null, verdict: 'errored', message: errorMessage(err) };
  }
}

/**
 * Measures one metric until `count` measurements have been taken or a limit decides it. As in Argo
 * Rollouts, a measurement that errored does not count toward `count`: the metric measures again,
 * and errors in a row past `consecutiveErrorLimit` make it errored, never a success. With
 * `background` and no `count`, it measures until `signal` aborts (the rollout ended) unless a limit
 * decides it; with a `count`, it stops after that many, like any other.
 */
export async function runMetric(metric: MetricSpec, env: AnalysisEnv, signal: AbortSignal, background = false): Promise<MetricResult> {
  const measurements: Measurement[] = [];
  let failed = 0;
  let inconclusive = 0;
  let consecutiveErrors = 0;
  let counted = 0;
  const result = (phase: Verdict, message: string): MetricResult => ({ name: metric.name, phase, dryRun: metric.dryRun, measurements, message });
  if (signal.aborted) throw signal.reason;
  if (metric.initialDelayMs > 0) await env.clock.sleep(metric.initialDelayMs, signal);
  // A background metric without a count measures until the rollout ends (`signal` aborts).
  const count = metric.count ?? (background ? Infinity : 1);
  for (let i = 0; counted < count; i++) {
    if (i > 0) await env.clock.sleep(metric.intervalMs, signal);
    const m = await measure(metric, env, signal);
    measurements.push(m);
    env.emit({
      kind: 'analysis.measured',
      stage: env.stage,
      metric: metric.name,
      value: m.value,
      condition: describeCondition(metric),
      query: metric.query,
      verdict: m.verdict,
      message: m.message,
      ...(metric.unit ? { unit: metric.unit } : {}),
    });
    consecutiveErrors = m.verdict === 'errored' ? consecutiveErrors + 1 : 0;
    if (m.verdict !== 'errored') counted += 1;
    if (m.verdict === 'failed') failed += 1;
    if (m.verdict === 'inconclusive') inconclusive += 1;
    if (failed > metric.failureLimit) return result('failed', `${metric.name}: ${failed} failed measurement(s), limit ${metric.failureLimit}; last: ${valueText(m, metric)}`);
    if (consecutiveErrors > metric.consecutiveErrorLimit) {
      return result('errored', `${metric.name}: ${consecutiveErrors} errors in a row, limit ${metric.consecutiveErrorLimit}; last: ${m.message}`);
    }
    if (inconclusive > metric.inconclusiveLimit) {
      return result('inconclusive', `${metric.name}: ${inconclusive} inconclusive measurement(s), limit ${metric.inconclusiveLimit}; last: ${valueText(m, metric)}`);
    }
  }
  return result('succeeded', `${metric.name}: ${counted} measurement(s) within limits${counted < measurements.length ? ` (${measurements.length - counted} errored, not counted)` : ''}`);
}

function valueText(m: Measurement, metric: MetricSpec): string {
  return `${formatMeasured(m.value, metric.unit)} (${m.message})`;
}

const SEVERITY: Record<Verdict, number> = { succeeded: 0, inconclusive: 1, errored: 2, failed: 3 };

/**
 * Runs every metric in parallel. As soon as one metric that counts (not `dryRun`) fails or
 * errors, the others stop: the decision is made. The phase is the worst of the counting metrics.
 */
export async function runAnalysis(metrics: MetricSpec[], env: AnalysisEnv, signal: AbortSignal, background = false): Promise<AnalysisResult> {
  const { controller, dispose } = followAbort(signal);
  try {
    const results = await Promise.all(
      metrics.map(async (metric) => {
        try {
          const r = await runMetric(metric, env, controller.signal, background);
          if (!r.dryRun && (r.phase === 'failed' || r.phase === 'errored' || (background && r.phase === 'inconclusive'))) {
            controller.abort(new Error('decided'));
          }
          return r;
        } catch (err) {
          if (signal.aborted) throw err;
          // Stopped because another metric decided: this one's measurements so far stand.
          return { name: metric.name, phase: 'succeeded' as const, dryRun: metric.dryRun, measurements: [], message: `${metric.name}: stopped` };
        }
      }),
    );
    const counting = results.filter((r) => !r.dryRun);
    const worst = counting.reduce<MetricResult | undefined>((w, r) => (!w || SEVERITY[r.phase] > SEVERITY[w.phase] ? r : w), undefined);
    const phase = worst?.phase ?? 'succeeded';
    const message = worst && worst.phase !== 'succeeded' ? worst.message : 'all metrics within limits';
    return { phase, metrics: results, message };
  } finally {
    dispose();
  }
}
