import { z } from 'zod';
import { type Arm, armClient } from '../azure/arm.js';
import { duration } from '../config/fields.js';
import { NoDataError, ProviderError } from '../errors.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { formatLimit } from '../util/command-runner.js';

export const type = 'azure-monitor';

const AGGREGATIONS = ['Average', 'Total', 'Count', 'Minimum', 'Maximum'] as const;
type Aggregation = (typeof AGGREGATIONS)[number];
/** The time grains Azure Monitor metrics accept, in ms, and how they are written. */
const GRAINS: [number, string][] = [
  [60_000, 'PT1M'],
  [300_000, 'PT5M'],
  [900_000, 'PT15M'],
  [1_800_000, 'PT30M'],
  [3_600_000, 'PT1H'],
  [21_600_000, 'PT6H'],
  [43_200_000, 'PT12H'],
  [86_400_000, 'P1D'],
];
const API_VERSION = '2023-10-01';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    resourceId: z
      .string()
      .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/.+/i, 'expected an Azure resource id (/subscriptions/…/resourceGroups/…/providers/…)')
      .optional()
      .describe("The resource whose metrics are read (default: the stage's container-apps target's app)"),
    window: duration('How far back from now the metric is read: the timespan of the query').prefault('5m'),
    interval: z
      .enum(GRAINS.map(([, iso]) => iso) as [string, ...string[]])
      .default('PT1M')
      .describe('The time grain of the data points (ISO 8601: PT1M, PT5M, …); the points in the window are combined by the aggregation'),
    aggregation: z.enum(AGGREGATIONS).default('Average').describe('The aggregation of a query that names none'),
    metricNamespace: z.string().min(1).optional().describe('The metric namespace, for custom metrics (default: the resource type\'s platform metrics)'),
  })
  .describe(
    "Reads an Azure Monitor platform metric of a resource (GET {resourceId}/providers/Microsoft.Insights/metrics). A metric's `query` is `NAME[:AGGREGATION][ where FILTER]`, e.g. `Requests:Total where statusCodeCategory eq '5xx'` or `CpuPercentage:Maximum`; the data points in `window` are combined by the aggregation (Total and Count are summed, Average averaged, Minimum and Maximum taken). No time series, or no data point in the window, is no data, never 0",
  );
export type AzureMonitorConfig = z.output<typeof configSchema>;

export interface ParsedQuery {
  metric: string;
  aggregation: Aggregation;
  filter?: string;
}

/** `Requests:Total where statusCodeCategory eq '5xx'` → metric, aggregation, $filter. */
export function parseQuery(query: string, fallback: Aggregation): ParsedQuery {
  const match = /^\s*([^:]+?)\s*(?::\s*([A-Za-z0-9]+))?(?:\s+where\s+(.+?))?\s*$/i.exec(query);
  const metric = match?.[1]?.replace(/\s+where\s+.*$/i, '');
  if (!match || !metric) throw new ProviderError(`${type}: cannot read the query '${query}': expected NAME[:AGGREGATION][ where FILTER], e.g. Requests:Total where statusCodeCategory eq '5xx'`);
  const named = match[2] ? AGGREGATIONS.find((a) => a.toLowerCase() === (match[2] as string).toLowerCase()) : fallback;
  if (!named) throw new ProviderError(`${type}: the query '${query}' names the aggregation '${match[2]}'; use one of ${AGGREGATIONS.join(', ')}`);
  return { metric, aggregation: named, ...(match[3] ? { filter: match[3] } : {}) };
}

interface MetricsAnswer {
  value?: { name?: { value?: string }; errorCode?: string; errorMessage?: string; timeseries?: { data?: Record<string, unknown>[] }[] }[];
}

export function create(config: AzureMonitorConfig, deps: ProviderDeps): MetricProvider {
  const client = armClient(deps, type);
  const grain = GRAINS.find(([, iso]) => iso === config.interval)?.[0] ?? 60_000;

  /** The resource: the config's, else the container-apps target's app. */
  const resource = (arm: Arm): string => {
    if (config.resourceId) return config.resourceId;
    const target = deps.target as { type: string; app?: string; resourceGroup?: string } | undefined;
    if (target?.type === 'container-apps' && target.app) return `${arm.scope(target.resourceGroup)}/providers/Microsoft.App/containerApps/${target.app}`;
    throw new ProviderError(`${type}: no resource to read metrics of: give the metric provider a resourceId (the stage's target is not a container app)`);
  };

  return {
    type,
    async query(query, ctx: StepContext) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const parsed = parseQuery(query, config.aggregation);
      const arm = await client(ctx);
      const id = resource(arm);
      const end = Math.floor(ctx.clock.now() / grain) * grain;
      const start = end - Math.max(grain, config.window);
      const answer = await arm.call<MetricsAnswer>({
        path: `${id}/providers/Microsoft.Insights/metrics`,
        apiVersion: API_VERSION,
        query: {
          metricnames: parsed.metric,
          aggregation: parsed.aggregation,
          timespan: `${new Date(start).toISOString()}/${new Date(end).toISOString()}`,
          interval: config.interval,
          ...(parsed.filter ? { $filter: parsed.filter } : {}),
          ...(config.metricNamespace ? { metricnamespace: config.metricNamespace } : {}),
        },
        what: `read the metric ${parsed.metric} of ${id.split('/').slice(-2).join(' ')}`,
      });
      return combine(answer.body, parsed, `${parsed.metric} (${parsed.aggregation}${parsed.filter ? `, where ${parsed.filter}` : ''}) of ${id.split('/').at(-1)} in the last ${formatLimit(Math.max(grain, config.window))}`);
    },
  };
}

/** The data points of every time series in the window, combined by the aggregation. */
function combine(body: MetricsAnswer, parsed: ParsedQuery, what: string): number {
  const metric = body?.value?.[0];
  if (metric?.errorCode && metric.errorCode !== 'Success') throw new ProviderError(`${type}: ${what}: ${metric.errorCode}${metric.errorMessage ? `: ${metric.errorMessage}` : ''}`);
  const key = parsed.aggregation.toLowerCase();
  const points = (metric?.timeseries ?? []).flatMap((s) => s.data ?? []).map((d) => d[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (!metric?.timeseries?.length) throw new NoDataError(`${type}: no time series for ${what} (no such dimension value, or nothing reported it yet)`);
  if (points.length === 0) throw new NoDataError(`${type}: no data point for ${what}`);
  switch (parsed.aggregation) {
    case 'Total':
    case 'Count':
      return points.reduce((a, b) => a + b, 0);
    case 'Minimum':
      return Math.min(...points);
    case 'Maximum':
      return Math.max(...points);
    default:
      return points.reduce((a, b) => a + b, 0) / points.length;
  }
}
