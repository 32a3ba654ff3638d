import { afterAll } from 'vitest';
import { createVirtualClock } from '../clocks/virtual.js';
import { describeMetricProviderContract } from '../testing/contracts/metric-provider.js';
import { DatadogServer } from '../testing/datadog-server.js';
import { fakeDeps } from '../testing/fakes.js';
import * as datadog from './datadog.js';

// The Datadog double, on a virtual clock (the provider's retries of a 503 cost no real time). A
// source that cannot be reached answers 503 to every attempt of one query.
let running: Promise<DatadogServer> | undefined;
afterAll(async () => (await running?.catch(() => undefined))?.stop());

describeMetricProviderContract('datadog', async () => {
  running ??= new DatadogServer().start();
  const server = await running;
  server.define('sum:trace.http.request.errors{service:web}.as_count()', 3);
  server.define('sum:trace.http.request.hits{service:web}.as_count()', (t) => 100 + (t % 7));
  server.define('avg:web.latency{version:v1}', [{ tags: [], value: () => 0 }]);
  server.define('avg:web.latency{version:v9}', [{ value: () => null }]);
  const clock = createVirtualClock();
  const secrets: Record<string, string> = { DD_API_KEY: server.apiKey, DD_APP_KEY: server.appKey };
  return {
    clock,
    deps: (states) => fakeDeps({ clock, secret: (name) => secrets[name] }, { states }),
    create: (deps) => datadog.create(datadog.configSchema.parse({ type: 'datadog', endpoint: server.url }), deps),
    sampled: [
      'sum:trace.http.request.errors{service:web}.as_count()',
      'avg:web.latency{version:v1}',
      'formula: 100 * errors / hits\nqueries:\n  errors: sum:trace.http.request.errors{service:web}.as_count()\n  hits: sum:trace.http.request.hits{service:web}.as_count()',
    ],
    noData: ['avg:web.latency{version:v9}', 'sum:trace.http.request.errors{service:web,version:v9}.as_count()'],
    injectFault: () => server.fail(503, { times: 6 }),
  };
});
