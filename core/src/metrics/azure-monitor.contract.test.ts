import type { MetricProvider } from '../ports/metric-provider.js';
import type { StepContext } from '../ports/step-context.js';
import { armFixture, RESOURCE_GROUP, SUBSCRIPTION } from '../testing/azure/base/fixture.js';
import { MonitorDouble } from '../testing/azure/monitor.js';
import { describeMetricProviderContract } from '../testing/contracts/metric-provider.js';
import * as monitor from './azure-monitor.js';

/*
 * The azure-monitor metric provider against the ARM double's Azure Monitor: app web's Requests
 * (10 a minute, 1 of them 5xx) and a metric measured nowhere in the window. The contexts carry the
 * double's service principal, as a runner's environment would.
 */
const app = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.App/containerApps/web`;

describeMetricProviderContract('azure-monitor', async () => {
  const azure = await armFixture();
  const metrics = new MonitorDouble(azure.server);
  metrics.metric(app, 'Requests', (_at, filter) => (filter?.includes("'5xx'") ? 1 : filter?.includes("'v9'") ? null : 10));
  metrics.metric(app, 'CpuPercentage', () => undefined);
  const withEnv = (ctx: StepContext): StepContext => ({ ...ctx, env: { ...ctx.env, ...azure.env } });
  return {
    clock: azure.clock,
    deps: (states) => azure.deps(states, { type: 'container-apps', app: 'web' }),
    create: (deps): MetricProvider => {
      const p = monitor.create(monitor.configSchema.parse({ type: 'azure-monitor' }), deps);
      return { type: p.type, query: (q, ctx) => p.query(q, withEnv(ctx)) };
    },
    sampled: ['Requests:Total', "Requests:Total where statusCodeCategory eq '5xx'", 'Requests'],
    noData: ["Requests:Total where revisionName eq 'v9'", 'CpuPercentage:Maximum'],
    injectFault: () => azure.server.fail(/Microsoft\.Insights\/metrics$/, 503, 'ServiceUnavailable', 'The service is temporarily unavailable.', { times: 6 }),
    cleanup: azure.cleanup,
  };
});
