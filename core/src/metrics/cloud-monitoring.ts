import { z } from 'zod';
import { NoDataError, ProviderError } from '../errors.js';
import { gcpApi } from '../gcp/client.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { shownQuery, valueOf } from './prometheus-result.js';

export const type = 'cloud-monitoring';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    project: z.string().min(1).optional().describe("The project whose metrics are queried (the scoping project of a metrics scope); default: the environment's gcp.project, else the credentials' project"),
  })
  .describe(
    "Evaluates a PromQL instant query (the metric's `query`) through Cloud Monitoring's Prometheus API, over Google Cloud's own metrics (run_googleapis_com:request_count…) and Managed Service for Prometheus. " +
      'It must give one number: one series or a scalar (aggregate with sum or avg). An empty result is no data (see onNoData), never 0',
  );
export type CloudMonitoringConfig = z.output<typeof configSchema>;

/**
 * PromQL through `projects.location.prometheus.api.v1.query`: Cloud Monitoring answers in the
 * Prometheus HTTP API's own shape, so the answer is read by the prometheus provider's reader
 * (an empty vector is `NoDataError`, several series or NaN are errors), its messages naming this
 * provider. Throttling (429) and 5xx are retried by the REST layer, honouring Retry-After.
 */
export function create(config: CloudMonitoringConfig, deps: ProviderDeps): MetricProvider {
  const api = gcpApi(deps, 'cloud-monitoring');
  return {
    type,
    async query(query, ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const project = await api.project(ctx, config.project);
      const url = `${api.base('monitoring')}/v1/projects/${encodeURIComponent(project)}/location/global/prometheus/api/v1/query`;
      const { status, body } = await api.call<unknown>(
        { method: 'POST', url, body: { query, time: new Date(ctx.clock.now()).toISOString() }, what: `run the PromQL query ${shownQuery(query)} in project ${project}` },
        ctx,
      );
      try {
        return valueOf({ status, statusText: '', text: typeof body === 'string' ? body : JSON.stringify(body ?? null) }, query, `Cloud Monitoring (project ${project})`);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        const message = err.message.replace(/^prometheus: /, 'cloud-monitoring: ');
        if (err instanceof NoDataError) throw new NoDataError(message, { cause: err });
        throw new ProviderError(message, { retryable: err.retryable, cause: err });
      }
    },
  };
}
