import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import { settingsSchema } from '../aws/family.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { rdsDouble } from '../testing/aws/rds.js';
import { AwsServer } from '../testing/aws/server.js';
import { describeProbeContract } from '../testing/contracts/probe.js';
import { fakeDeps } from '../testing/fakes.js';
import * as awsRds from './aws-rds.js';

// The real RDS SDK client against the AWS double on a virtual clock. The hanging probe talks to a
// server that accepts the request and never answers, and says when it has it.
let running: Promise<{ server: AwsServer; silent: Server; url: string; arrivals: Array<() => void> }> | undefined;
afterAll(async () => {
  const r = await running?.catch(() => undefined);
  r?.silent.closeAllConnections();
  r?.silent.close();
  await r?.server.stop();
});

describeProbeContract('aws-rds', async () => {
  running ??= (async () => {
    const server = await new AwsServer().start();
    const arrivals: Array<() => void> = [];
    const silent = createServer(() => arrivals.shift()?.());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    return { server, silent, url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, arrivals };
  })();
  const { server, url, arrivals } = await running;
  const clock = createVirtualClock();
  const rds = rdsDouble(server, () => clock.now());
  rds.instance({ id: 'shop-db' });
  const make = (config: Record<string, unknown>, endpoint = server.url) => (deps: Parameters<typeof awsRds.create>[1]) =>
    awsRds.create(awsRds.configSchema.parse({ type: 'aws-rds', ...config }), { ...deps, settings: () => settingsSchema.parse({ endpoint }) });
  return {
    clock,
    env: server.env(),
    deps: (states) => fakeDeps({ clock }, { states }),
    working: make({ instance: 'shop-db' }),
    failing: make({ instance: 'missing-db' }),
    hanging: make({ instance: 'shop-db', timeout: '10m' }, url),
    hangingWaits: (abort) => void arrivals.push(abort),
  };
});
