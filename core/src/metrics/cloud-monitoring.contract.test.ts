import type { MetricProvider } from '../ports/metric-provider.js';
import { describeMetricProviderContract } from '../testing/contracts/metric-provider.js';
import { gcpFixture } from '../testing/gcp/fixture.js';
import * as cloudMonitoring from './cloud-monitoring.js';

/*
 * The cloud-monitoring metric provider against the Google API double's PromQL endpoint. The
 * suite's contexts carry no environment: `withEnv` adds the credentials variable, as the engine's
 * contexts carry the runner's. Unreachable is 503 UNAVAILABLE on every attempt of the query.
 */
describeMetricProviderContract('cloud-monitoring', async () => {
  const gcp = await gcpFixture();
  gcp.server.monitoring.on('sum(rate(run_googleapis_com:request_count{service_name="web"}[5m]))', 12.5);
  const provider = cloudMonitoring.configSchema.parse({ type: 'cloud-monitoring' });
  return {
    clock: gcp.clock,
    deps: (states) => gcp.deps(states),
    create: (deps) => withEnv(cloudMonitoring.create(provider, deps), gcp.env),
    sampled: ['sum(rate(run_googleapis_com:request_count{service_name="web"}[5m]))'],
    noData: ['sum(rate(run_googleapis_com:request_count{service_name="nothing"}[5m]))'],
    injectFault: () => gcp.server.fail(/prometheus\/api\/v1\/query$/, 503, { times: 6 }),
    cleanup: gcp.cleanup,
  };
});

function withEnv(provider: MetricProvider, env: Record<string, string>): MetricProvider {
  return { type: provider.type, query: (query, ctx) => provider.query(query, { ...ctx, env: { ...ctx.env, ...env } }) };
}
