import { afterAll } from 'vitest';
import { type Gateway, type ScrapedApps, startGateway, startScrapedApps } from '../../../tests/real/servers/prometheus.js';
import { describeMetricProviderContract } from '../testing/contracts/metric-provider.js';
import { fakeDeps } from '../testing/fakes.js';
import * as prometheus from './prometheus.js';

// One real Prometheus scraping two app servers for every check, reached through a gateway that can
// answer 503 once (the source cannot be reached). Nothing deployed as v9: no sample.
let running: Promise<{ apps: ScrapedApps; gateway: Gateway }> | undefined;
afterAll(async () => {
  const started = await running?.catch(() => undefined);
  await Promise.allSettled([started?.gateway.close(), started?.apps.stop()]);
});

describeMetricProviderContract('prometheus', async () => {
  running ??= startScrapedApps().then(async (apps) => ({ apps, gateway: await startGateway(apps.prometheus.url) }));
  const { gateway } = await running;
  return {
    deps: (states) => fakeDeps({}, { states }),
    create: (deps) => prometheus.create(prometheus.configSchema.parse({ type: 'prometheus', url: gateway.url }), deps),
    sampled: ['sum(app_up)', 'app_up{version="v1"}', 'scalar(count(up))', 'sum(app_requests_total{version="idle"})'],
    noData: ['app_up{version="v9"}', 'sum(rate(app_requests_total{version="v9"}[1m]))'],
    injectFault: () => gateway.failNext(503),
  };
});
