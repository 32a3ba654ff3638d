import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import { settingsSchema } from '../aws/family.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { cloudWatchDouble } from '../testing/aws/cloudwatch.js';
import { AwsServer } from '../testing/aws/server.js';
import { serviceQuotasDouble } from '../testing/aws/service-quotas.js';
import { describeProbeContract } from '../testing/contracts/probe.js';
import { fakeDeps } from '../testing/fakes.js';
import * as awsQuota from './aws-quota.js';

// The real Service Quotas and CloudWatch SDK clients against the AWS double on a virtual clock;
// the hanging probe talks to a server that never answers and says when it has the request.
let running: Promise<{ server: AwsServer; silent: Server; url: string; arrivals: Array<() => void> }> | undefined;
afterAll(async () => {
  const r = await running?.catch(() => undefined);
  r?.silent.closeAllConnections();
  r?.silent.close();
  await r?.server.stop();
});

const USAGE = { namespace: 'AWS/Usage', metric: 'ResourceCount', dimensions: { Service: 'Fargate', Type: 'Resource', Resource: 'OnDemand', Class: 'Standard/OnDemand' } };

describeProbeContract('aws-quota', async () => {
  running ??= (async () => {
    const server = await new AwsServer().start();
    const arrivals: Array<() => void> = [];
    const silent = createServer(() => arrivals.shift()?.());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    return { server, silent, url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, arrivals };
  })();
  const { server, url, arrivals } = await running;
  serviceQuotasDouble(server).quota({ serviceCode: 'fargate', quotaCode: 'L-3032A538', name: 'Fargate On-Demand vCPU resource count', value: 16, usage: { ...USAGE, stat: 'Maximum' } });
  cloudWatchDouble(server).define(USAGE, 4);
  const clock = createVirtualClock();
  const make = (config: Record<string, unknown>, endpoint = server.url) => (deps: Parameters<typeof awsQuota.create>[1]) =>
    awsQuota.create(awsQuota.configSchema.parse({ type: 'aws-quota', serviceCode: 'fargate', quotaCode: 'L-3032A538', ...config }), { ...deps, settings: () => settingsSchema.parse({ endpoint }) });
  return {
    clock,
    env: server.env(),
    deps: (states) => fakeDeps({ clock }, { states }),
    working: make({ usage: 'metric', minHeadroom: 4 }),
    failing: make({ usage: 'metric', minHeadroom: 13 }),
    hanging: make({ usage: 'metric', timeout: '10m' }, url),
    hangingWaits: (abort) => void arrivals.push(abort),
  };
});
