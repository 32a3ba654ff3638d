import { parse } from 'yaml';
import { z } from 'zod';
import { ProviderError } from '../../errors.js';

/*
 * The metric's `query` for Datadog, in one of two forms:
 * - one metrics query, as the Datadog query editor writes it:
 *   `sum:trace.http.request.errors{service:web,version:v2}.as_count()`;
 * - a formula over named queries, written as YAML (the editor's "formula" mode), for a ratio:
 *     formula: 100 * errors / hits
 *     queries:
 *       errors: sum:trace.http.request.errors{service:web}.as_count()
 *       hits: sum:trace.http.request.hits{service:web}.as_count()
 *     reduce: avg          # optional: how the window's points become one number
 * A plain query never starts with `formula:` or `queries:` (it starts with an aggregator or a
 * metric name), so the two cannot be mistaken for each other.
 */

export const REDUCERS = ['avg', 'last', 'min', 'max', 'sum'] as const;
export type Reducer = (typeof REDUCERS)[number];

export interface DatadogQuery {
  queries: Array<{ data_source: 'metrics'; query: string; name: string }>;
  formulas?: Array<{ formula: string }>;
  reduce?: Reducer;
}

const structured = z.strictObject({
  formula: z.string().min(1).optional(),
  queries: z.record(z.string().regex(/^[A-Za-z_]\w*$/, 'a query name is a word: letters, digits, _'), z.string().min(1)),
  reduce: z.enum(REDUCERS).optional(),
});

/** The request's queries and formulas for `text`; a `ProviderError` (not retryable) when it is malformed. */
export function parseQuery(text: string): DatadogQuery {
  const trimmed = text.trim();
  if (trimmed === '') throw new ProviderError('datadog: the metric query is empty; write a Datadog metrics query such as avg:system.cpu.user{service:web}');
  if (!/^(formula|queries|reduce)\s*:(\s|$)/m.test(trimmed.split('\n')[0] ?? '') && !trimmed.startsWith('{')) {
    return { queries: [{ data_source: 'metrics', query: trimmed, name: 'query1' }] };
  }
  let raw: unknown;
  try {
    raw = parse(trimmed);
  } catch (err) {
    throw new ProviderError(`datadog: the metric query looks like the formula form but is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const checked = structured.safeParse(raw);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new ProviderError(`datadog: the formula form of the query is wrong (${where}${issue?.message ?? 'invalid'}); write formula: ..., queries: {NAME: QUERY}, and optionally reduce: avg|last|min|max|sum`);
  }
  const { formula, queries, reduce } = checked.data;
  const names = Object.keys(queries);
  if (names.length === 0) throw new ProviderError('datadog: the formula form of the query names no queries; add queries: {NAME: QUERY}');
  if (!formula && names.length > 1) throw new ProviderError(`datadog: the query names ${names.length} queries (${names.join(', ')}) but no formula; add formula: to combine them into one number`);
  return {
    queries: names.map((name) => ({ data_source: 'metrics' as const, query: queries[name] as string, name })),
    ...(formula ? { formulas: [{ formula }] } : {}),
    ...(reduce ? { reduce } : {}),
  };
}

/** One number out of the window's points, as `reduce` says; `undefined` when there is none. */
export function reduceValues(points: readonly number[], reduce: Reducer): number | undefined {
  if (points.length === 0) return undefined;
  switch (reduce) {
    case 'last':
      return points[points.length - 1];
    case 'min':
      return Math.min(...points);
    case 'max':
      return Math.max(...points);
    case 'sum':
      return points.reduce((a, b) => a + b, 0);
    case 'avg':
      return points.reduce((a, b) => a + b, 0) / points.length;
  }
}
