import { z } from 'zod';
import { duration } from '../config/fields.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { cloudWatchClient, latest, metricData, windowEndingNow } from './cloudwatch/get-metric-data.js';
import { parseQuery } from './cloudwatch/query.js';

/*
 * CloudWatch metrics through GetMetricData (one call answers a metric or a metric math expression
 * over several). The window is `lookback` ending at the last whole minute on the step's clock, and
 * the period defaults to the whole window, so CloudWatch computes the statistic (a p99 too) over
 * it and answers one datapoint; with a shorter period the newest datapoint is the value.
 */

export const type = 'cloudwatch';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    lookback: duration('The window a query reads, ending at the last whole minute; whole minutes')
      .prefault('5m')
      .refine((ms) => ms >= 60_000 && ms % 60_000 === 0, 'lookback is whole minutes (1m, 5m…)'),
  })
  .describe(
    "Reads CloudWatch with GetMetricData. The metric's `query` is YAML: `namespace`, `metric`, `dimensions`, `stat` (default Average) and optional `period` (default: the whole lookback, one datapoint); or `expression` (metric math) over named `metrics`; or a SEARCH/SELECT expression as text. The value is the newest datapoint; none is no data (see onNoData), never 0. Region, endpoint and credentials come from the `aws` block and the standard AWS sources.",
  );
export type CloudWatchMetricConfig = z.output<typeof configSchema>;

export function create(config: CloudWatchMetricConfig, deps: ProviderDeps): MetricProvider {
  const clients = cloudWatchClient(deps);
  return {
    type,
    async query(query, ctx) {
      const parsed = parseQuery(query, config.lookback);
      const window = windowEndingNow(ctx, config.lookback);
      const points = await metricData(clients, { ...parsed, window }, ctx, 'cloudwatch');
      return latest(points, parsed.shown, window, 'cloudwatch');
    },
  };
}
