import { z } from 'zod';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { checkConnection } from './http-request.js';
import { prometheusFields, queryPrometheus } from './prometheus-api.js';

export const type = 'prometheus';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    ...prometheusFields('10s'),
  })
  .superRefine(checkConnection)
  .describe(
    'Evaluates a PromQL instant query (the metric\'s `query`) over the Prometheus HTTP API. It must give one number: ' +
      'one series or a scalar (aggregate with sum or avg). An empty result is no data (see onNoData), never 0; NaN and ±Inf are errors.',
  );
export type PrometheusMetricConfig = z.infer<typeof configSchema>;

export function create(config: PrometheusMetricConfig, deps: ProviderDeps): MetricProvider {
  return {
    type,
    query: (query, ctx) => queryPrometheus(config, deps, query, ctx),
  };
}
