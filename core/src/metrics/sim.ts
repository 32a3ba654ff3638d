import { z } from 'zod';
import { worldOf } from '../sim/access.js';
import { NoDataError, ProviderError } from '../errors.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { SimWorld } from '../sim/world.js';

export const type = 'sim';

/** Everything happens in the simulated world, on the run's clock. */
export const virtualTime = true;

export const METRICS = [
  'error-rate',
  'candidate-error-rate',
  'stable-error-rate',
  'latency-p99',
  'candidate-latency-p99',
  'request-rate',
  'ready-replicas',
  'candidate-ready-replicas',
] as const;
export type SimMetric = (typeof METRICS)[number];

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    service: z.string().min(1).optional().describe("Service measured when a query names none (default: the service of the stage's sim target, else the stage name)"),
  })
  .describe(
    `Measures the simulated infrastructure. Queries: ${METRICS.join(', ')}, optionally with a service (error-rate:web). ` +
      'error-rate is the failing share of requests (0–1) and latency-p99 is in milliseconds, both for the current traffic split; ' +
      'the candidate- and stable- queries measure only the requests that side serves.',
  );
export type SimMetricConfig = z.infer<typeof configSchema>;
type Config = SimMetricConfig;

const readers: Record<SimMetric, (world: SimWorld, service: string) => number | undefined> = {
  'error-rate': (w, s) => w.errorRate(s),
  'candidate-error-rate': (w, s) => w.errorRate(s, 'candidate'),
  'stable-error-rate': (w, s) => w.errorRate(s, 'stable'),
  'latency-p99': (w, s) => w.latencyP99(s),
  'candidate-latency-p99': (w, s) => w.latencyP99(s, 'candidate'),
  'request-rate': (w, s) => w.requestRate(s),
  'ready-replicas': (w, s) => w.readyReplicas(s),
  'candidate-ready-replicas': (w, s) => w.candidateReadyReplicas(s),
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

/** Why `metric` of `service` has no sample, in the terms a user can act on. */
function noDataReason(world: SimWorld, metric: SimMetric, service: string): string {
  const svc = world.service(service);
  if (!svc) return 'nothing is deployed (check the service name)';
  const side = metric.startsWith('candidate-') ? 'candidate' : metric.startsWith('stable-') ? 'stable' : 'all';
  if (side === 'all') return 'none of its replicas is ready (still starting, or on crashed nodes), so it serves no traffic';
  const candidate = svc.candidate;
  if (!candidate) return side === 'candidate' ? 'no candidate is running (deploy one first)' : 'the stable version serves no traffic';
  // A ready candidate always answers on its preview route, so only an unready one has no data.
  if (side === 'candidate') return `the candidate ${candidate.version} receives no traffic: none of its replicas is ready`;
  if (svc.version === null) return 'there is no stable version yet (a first deploy)';
  if (world.readyReplicas(service) === 0) return `the stable version ${svc.version} receives no traffic: none of its replicas is ready`;
  return `the stable version ${svc.version} receives no traffic: the router sends everything to the candidate`;
}

export function create(config: Config, deps: ProviderDeps): MetricProvider {
  return {
    type,
    async query(query, ctx) {
      const { metric, service = config.service ?? targetService(deps) ?? ctx.stage } = parseQuery(query);
      const world = worldOf(deps);
      world.guard('metric', service);
      const value = readers[metric](world, service);
      if (value === undefined) throw new NoDataError(`sim: no data for ${metric} of ${service}: ${noDataReason(world, metric, service)}`);
      return value;
    },
  };
}

/** The service the stage's sim target deploys, when the stage has one that names it. */
export function targetService(deps: ProviderDeps): string | undefined {
  const service = deps.target?.type === 'sim' ? deps.target['service'] : undefined;
  return typeof service === 'string' ? service : undefined;
}
