import { awsFault, type AwsServer } from './server.js';

/*
 * The CloudWatch GetMetricData double (AWS JSON 1.0, target GraniteServiceVersion20100801), over
 * metrics a test defines as functions of time. Served as documented:
 * - MetricStat queries (Namespace, MetricName, Dimensions matched as a set; Period; Stat) give one
 *   datapoint per period from StartTime (timestamps StartTime + k·Period before EndTime), the
 *   defined function's value at the period's start standing for the period's statistic; a period
 *   with no value (null) has no datapoint; a metric nobody defined has none at all;
 * - Expression queries over other queries' Ids: numbers, + - * / and parentheses, point by point
 *   at the timestamps all operands share (what metric math does); other functions are refused;
 * - ReturnData false hides a result; ScanBy TimestampDescending (the default) lists newest first;
 * - MaxDatapoints or the double's `pageSize` splits the datapoints into pages with NextToken;
 * - a StatusCode per metric on demand (PartialData, Forbidden with its message, InternalError).
 * Not covered: SEARCH, Metrics Insights (SELECT), units, labels' dynamic values, alarms.
 */

export const CLOUDWATCH_PREFIX = 'GraniteServiceVersion20100801';

export interface MetricKey {
  namespace: string;
  metric: string;
  dimensions?: Record<string, string>;
}
type Series = (timeMs: number, stat: string) => number | null;
type Status = 'PartialData' | 'Forbidden' | 'InternalError';

interface Query {
  Id: string;
  Expression?: string;
  MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: Array<{ Name: string; Value: string }> }; Period: number; Stat: string };
  Period?: number;
  ReturnData?: boolean;
  Label?: string;
}
interface Result {
  Id: string;
  Label: string;
  points: Array<[number, number]>;
  status: 'Complete' | Status;
  messages: Array<{ Code: string; Value: string }>;
}

export class CloudWatchModel {
  private readonly metrics = new Map<string, Series>();
  private readonly statuses = new Map<string, Status>();
  /** Datapoints per page (default: all on one page). */
  pageSize = Number.POSITIVE_INFINITY;

  /** What a metric reports: a constant, or its value (the period's statistic) at a time. */
  define(key: MetricKey, series: number | Series): void {
    this.metrics.set(keyOf(key.namespace, key.metric, key.dimensions ?? {}), typeof series === 'number' ? () => series : series);
  }

  /** The StatusCode results of this metric carry from now on (`undefined`: Complete again). */
  status(key: MetricKey, status: Status | undefined): void {
    const k = keyOf(key.namespace, key.metric, key.dimensions ?? {});
    if (status) this.statuses.set(k, status);
    else this.statuses.delete(k);
  }

  getMetricData(p: { MetricDataQueries?: Query[]; StartTime?: number; EndTime?: number; NextToken?: string; ScanBy?: string; MaxDatapoints?: number }): unknown {
    const queries = p.MetricDataQueries ?? [];
    if (queries.length === 0) throw awsFault('InvalidParameterValue', 'The parameter MetricDataQueries must contain at least one query.');
    const start = Number(p.StartTime) * 1000;
    const end = Number(p.EndTime) * 1000;
    if (!(start < end)) throw awsFault('InvalidParameterValue', 'The parameter StartTime must be less than the parameter EndTime.');
    const results = new Map<string, Result>();
    for (const q of queries) {
      if (!/^[a-z][a-zA-Z0-9_]*$/.test(q.Id)) throw awsFault('ValidationError', `The value ${q.Id} for parameter MetricDataQueries.member.Id is invalid: it must start with a lowercase letter`);
      results.set(q.Id, q.MetricStat ? this.stat(q, start, end) : this.expression(q, results));
    }
    const shown = queries.filter((q) => q.ReturnData !== false).map((q) => results.get(q.Id) as Result);
    const descending = (p.ScanBy ?? 'TimestampDescending') === 'TimestampDescending';
    const flat = shown.flatMap((r) => (descending ? [...r.points].reverse() : r.points).map((point) => ({ r, point })));
    const size = Math.min(this.pageSize, p.MaxDatapoints ?? Number.POSITIVE_INFINITY);
    const offset = Number(p.NextToken ?? 0);
    const page = flat.slice(offset, offset + size);
    const more = offset + size < flat.length;
    return {
      MetricDataResults: shown.map((r) => {
        const mine = page.filter((x) => x.r === r).map((x) => x.point);
        return {
          Id: r.Id,
          Label: r.Label,
          Timestamps: mine.map(([t]) => t / 1000),
          Values: mine.map(([, v]) => v),
          StatusCode: r.status === 'Complete' && more ? 'PartialData' : r.status,
          ...(r.messages.length ? { Messages: r.messages } : {}),
        };
      }),
      ...(more ? { NextToken: String(offset + size) } : {}),
      Messages: [],
    };
  }

  private stat(q: Query, start: number, end: number): Result {
    const { Metric, Period, Stat } = q.MetricStat as NonNullable<Query['MetricStat']>;
    const dims = Object.fromEntries((Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));
    const key = keyOf(Metric.Namespace, Metric.MetricName, dims);
    const status = this.statuses.get(key) ?? 'Complete';
    const label = q.Label ?? Metric.MetricName;
    if (status === 'Forbidden') return { Id: q.Id, Label: label, points: [], status, messages: [{ Code: 'Forbidden', Value: `Insufficient permissions to read metric ${Metric.Namespace} ${Metric.MetricName}` }] };
    if (status === 'InternalError') return { Id: q.Id, Label: label, points: [], status, messages: [{ Code: 'InternalError', Value: 'An internal error occurred' }] };
    const series = this.metrics.get(key);
    const points: Array<[number, number]> = [];
    const period = Number(Period) * 1000;
    if (!(period > 0)) throw awsFault('ValidationError', 'The parameter MetricStat.Period must be greater than 0.');
    for (let t = start; series && t < end; t += period) {
      const v = series(t, Stat);
      if (v !== null) points.push([t, v]);
    }
    return { Id: q.Id, Label: label, points, status, messages: [] };
  }

  private expression(q: Query, results: Map<string, Result>): Result {
    const tokens = (q.Expression ?? '').match(/\s*([A-Za-z_]\w*|\d+(?:\.\d+)?|[-+*/()])/g)?.map((t) => t.trim()) ?? [];
    if (tokens.join('') !== (q.Expression ?? '').replace(/\s+/g, '')) throw awsFault('ValidationError', `Unsupported metric math expression in the double: ${q.Expression}`);
    const operands = tokens.filter((t) => /^[A-Za-z_]/.test(t)).map((id) => {
      const r = results.get(id);
      if (!r) throw awsFault('ValidationError', `Error in expression ${q.Id}: Unrecognized metric data query id: ${id}`);
      return r;
    });
    const times = (operands[0]?.points ?? []).map(([t]) => t).filter((t) => operands.every((o) => o.points.some(([u]) => u === t)));
    const points: Array<[number, number]> = [];
    for (const t of times) {
      const v = evaluate(tokens, (id) => results.get(id)?.points.find(([u]) => u === t)?.[1] ?? null);
      if (v !== null && Number.isFinite(v)) points.push([t, v]);
    }
    const status = operands.find((o) => o.status !== 'Complete')?.status ?? 'Complete';
    return { Id: q.Id, Label: q.Label ?? q.Id, points, status, messages: operands.flatMap((o) => o.messages) };
  }
}

/** Registers GetMetricData on `server` over a new model; returns the model (the test's handle). */
export function cloudWatchDouble(server: AwsServer): CloudWatchModel {
  const model = new CloudWatchModel();
  server.json(CLOUDWATCH_PREFIX, 'GetMetricData', (p) => model.getMetricData(p));
  return model;
}

function keyOf(namespace: string, metric: string, dimensions: Record<string, string>): string {
  const dims = Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([namespace, metric, dims]);
}

/** + - * / over numbers and ids by precedence; null when an operand has no point. */
function evaluate(tokens: string[], lookup: (id: string) => number | null): number | null {
  let at = 0;
  const atom = (): number | null => {
    const t = tokens[at++] ?? '';
    if (t === '(') {
      const v = sum();
      at++;
      return v;
    }
    if (t === '-') {
      const v = atom();
      return v === null ? null : -v;
    }
    return /^\d/.test(t) ? Number(t) : lookup(t);
  };
  const product = (): number | null => {
    let v = atom();
    while (tokens[at] === '*' || tokens[at] === '/') {
      const op = tokens[at++];
      const r = atom();
      v = v === null || r === null ? null : op === '*' ? v * r : v / r;
    }
    return v;
  };
  const sum = (): number | null => {
    let v = product();
    while (tokens[at] === '+' || tokens[at] === '-') {
      const op = tokens[at++];
      const r = product();
      v = v === null || r === null ? null : op === '+' ? v + r : v - r;
    }
    return v;
  };
  return sum();
}
