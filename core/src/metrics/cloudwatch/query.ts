import { parse } from 'yaml';
import { z } from 'zod';
import { ProviderError } from '../../errors.js';
import { formatLimit } from '../../util/command-runner.js';
import { parseDuration } from '../../util/duration.js';

/*
 * The metric's `query` for CloudWatch, in YAML (or JSON), one of:
 * - one metric (a MetricStat):
 *     namespace: AWS/ApplicationELB
 *     metric: TargetResponseTime
 *     dimensions: { LoadBalancer: app/web/50dc6c495c0c9188, TargetGroup: targetgroup/web-green/943f017f100becff }
 *     stat: p99              # default Average
 *     period: 5m             # default: the provider's lookback (one datapoint for the whole window)
 * - metric math over named metrics (names start with a lowercase letter, as CloudWatch Ids must):
 *     expression: 100 * errors / requests
 *     metrics:
 *       errors: { namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, dimensions: {...}, stat: Sum }
 *       requests: { namespace: AWS/ApplicationELB, metric: RequestCount, dimensions: {...}, stat: Sum }
 * - any other text: a metric math expression on its own (a SEARCH or a Metrics Insights SELECT).
 */

const periodText = z
  .string()
  .refine((t) => (parseDuration(t) ?? 0) >= 60_000 && (parseDuration(t) ?? 0) % 60_000 === 0, 'a period is whole minutes (1m, 5m…)');

export const metricStatFields = {
  namespace: z.string().min(1).describe('CloudWatch namespace, such as AWS/ApplicationELB or AWS/ECS'),
  metric: z.string().min(1).describe('Metric name, such as TargetResponseTime'),
  dimensions: z.record(z.string(), z.string()).optional().describe('Dimensions, all of them: CloudWatch matches the exact set'),
  stat: z.string().min(1).default('Average').describe('Statistic: Average, Sum, Minimum, Maximum, SampleCount, p99, tm90…'),
};
const metricStat = z.strictObject(metricStatFields);
export type MetricStatShorthand = z.output<typeof metricStat>;

const single = z.strictObject({ ...metricStatFields, period: periodText.optional() });
const math = z.strictObject({
  expression: z.string().min(1),
  metrics: z.record(z.string().regex(/^[a-z][a-zA-Z0-9_]*$/, 'a metric name here starts with a lowercase letter (letters, digits, _)'), metricStat).optional(),
  period: periodText.optional(),
});

export interface MetricDataQuery {
  Id: string;
  Expression?: string;
  MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: Array<{ Name: string; Value: string }> }; Period: number; Stat: string };
  Period?: number;
  ReturnData: boolean;
  Label?: string;
}

/** The queries of one request, the Id whose datapoints are the answer, and a name for messages. */
export interface ParsedQuery {
  queries: MetricDataQuery[];
  id: string;
  shown: string;
}

/** A MetricStat query from the shorthand. */
export function statQuery(id: string, m: MetricStatShorthand, periodSeconds: number, returnData: boolean): MetricDataQuery {
  const Dimensions = Object.entries(m.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value }));
  return { Id: id, MetricStat: { Metric: { Namespace: m.namespace, MetricName: m.metric, Dimensions }, Period: periodSeconds, Stat: m.stat }, ReturnData: returnData };
}

/** Describes one metric for messages: `AWS/ELB TargetResponseTime p99 {LoadBalancer=…}`. */
export function describeMetric(m: MetricStatShorthand): string {
  const dims = Object.entries(m.dimensions ?? {}).map(([k, v]) => `${k}=${v}`);
  return `${m.namespace} ${m.metric} ${m.stat}${dims.length ? ` {${dims.join(', ')}}` : ''}`;
}

export function parseQuery(text: string, lookbackMs: number): ParsedQuery {
  const trimmed = text.trim();
  if (trimmed === '') throw new ProviderError('cloudwatch: the metric query is empty; write namespace:, metric:, dimensions: and stat: (or expression:)');
  let raw: unknown;
  try {
    raw = parse(trimmed);
  } catch {
    raw = trimmed;
  }
  const defaultPeriod = Math.round(lookbackMs / 1000);
  if (raw === null || typeof raw !== 'object') {
    return { queries: [{ Id: 'q', Expression: trimmed, Period: defaultPeriod, ReturnData: true }], id: 'q', shown: `expression ${JSON.stringify(cut(trimmed))}` };
  }
  const form = 'expression' in raw ? math : single;
  const checked = form.safeParse(raw);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new ProviderError(
      `cloudwatch: the metric query is not valid (${where}${issue?.message ?? 'invalid'}); write namespace:, metric:, dimensions:, stat: and optionally period:, or expression: with metrics: {name: {namespace, metric, dimensions, stat}}`,
    );
  }
  const value = checked.data;
  const period = value.period ? Math.round((parseDuration(value.period) as number) / 1000) : defaultPeriod;
  if ('expression' in value) {
    const metrics = Object.entries(value.metrics ?? {}).map(([name, m]) => statQuery(name, m, period, false));
    if (metrics.some((m) => m.Id === 'result')) throw new ProviderError('cloudwatch: a metric of the expression may not be named `result`; rename it');
    return { queries: [...metrics, { Id: 'result', Expression: value.expression, Period: period, ReturnData: true }], id: 'result', shown: `expression ${JSON.stringify(cut(value.expression))}` };
  }
  return { queries: [statQuery('m', value, period, true)], id: 'm', shown: `${describeMetric(value)} over ${formatLimit(period * 1000)}` };
}

function cut(text: string): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
