import { z } from 'zod';
import { NoDataError, ProviderError } from '../errors.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { SimWorld } from '../sim/world.js';

export const type = 'sim';

export const METRICS = ['error-rate', 'latency-p99', 'request-rate', 'ready-replicas'] as const;
export type SimMetric = (typeof METRICS)[number];

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    service: z.string().min(1).optional().describe('Service measured when a query names none (default: the stage name)'),
  })
  .describe(
    `Measures the simulated infrastructure. Queries: ${METRICS.join(', ')}, optionally with a service (error-rate:web). ` +
      'error-rate is the failing share of requests (0–1) and latency-p99 is in milliseconds, both for the current traffic split.',
  );
export type SimMetricConfig = z.infer<typeof configSchema>;
type Config = SimMetricConfig;

const readers: Record<SimMetric, (world: SimWorld, service: string) => number | undefined> = {
  'error-rate': (w, s) => w.errorRate(s),
  'latency-p99': (w, s) => w.latencyP99(s),
  'request-rate': (w, s) => w.requestRate(s),
  'ready-replicas': (w, s) => w.readyReplicas(s),
};

/** Splits `error-rate:web` into the metric and the service. */
export function parseQuery(query: string): { metric: SimMetric; service?: string } {
  const text = query.trim();
  const colon = text.indexOf(':');
  const metric = colon < 0 ? text : text.slice(0, colon).trim();
  const service = colon < 0 ? undefined : text.slice(colon + 1).trim();
  if (!(METRICS as readonly string[]).includes(metric) || service === '') {
    throw new ProviderError(`sim: unknown metric query "${query}": use ${METRICS.join(', ')}, optionally followed by :SERVICE (error-rate:web)`);
  }
  return service === undefined ? { metric: metric as SimMetric } : { metric: metric as SimMetric, service };
}

export function create(config: Config, deps: ProviderDeps): MetricProvider {
  return {
    type,
    async query(query, ctx) {
      const { metric, service = config.service ?? ctx.stage } = parseQuery(query);
      const world = deps.sim();
      world.guard('metric', service);
      const value = readers[metric](world, service);
      if (value === undefined) {
        throw new NoDataError(
          world.service(service)
            ? `sim: no data for ${metric} of ${service}: none of its replicas is on a ready node, so it serves no traffic`
            : `sim: no data for ${metric} of ${service}: nothing is deployed (check the service name)`,
        );
      }
      return value;
    },
  };
}
