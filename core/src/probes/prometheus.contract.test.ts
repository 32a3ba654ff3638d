import { afterAll } from 'vitest';
import { freePort } from '../../../tests/real/app-server.js';
import { type Gateway, type ScrapedApps, startGateway, startScrapedApps } from '../../../tests/real/servers/prometheus.js';
import { describeProbeContract } from '../testing/contracts/probe.js';
import * as prometheus from './prometheus.js';

// A real Prometheus scraping two app servers; the hanging probe goes through a gateway that holds
// its request unanswered and says when it does.
let running: Promise<{ apps: ScrapedApps; gateway: Gateway }> | undefined;
afterAll(async () => {
  const started = await running?.catch(() => undefined);
  await Promise.allSettled([started?.gateway.close(), started?.apps.stop()]);
});

describeProbeContract('prometheus', async () => {
  running ??= startScrapedApps().then(async (apps) => ({ apps, gateway: await startGateway(apps.prometheus.url) }));
  const { apps, gateway } = await running;
  const refused = await freePort();
  const probe = (input: Record<string, unknown>) => prometheus.configSchema.parse({ type: 'prometheus', query: 'sum(app_up)', ...input });
  return {
    working: (deps) => prometheus.create(probe({ url: apps.prometheus.url }), deps),
    failing: (deps) => prometheus.create(probe({ url: `http://127.0.0.1:${refused}` }), deps),
    // Its own timeout is far beyond the test's: only the signal can end it in time.
    hanging: (deps) => prometheus.create(probe({ url: gateway.url, timeout: '10m' }), deps),
    hangingWaits: (abort) => gateway.holdNext(abort),
  };
});
