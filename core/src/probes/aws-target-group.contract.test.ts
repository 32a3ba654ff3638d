import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import { settingsSchema } from '../aws/family.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { elbv2Double } from '../testing/aws/elbv2.js';
import { AwsServer } from '../testing/aws/server.js';
import { describeProbeContract } from '../testing/contracts/probe.js';
import { fakeDeps } from '../testing/fakes.js';
import * as awsTargetGroup from './aws-target-group.js';

// The real ELBv2 SDK client against the AWS double's ELBv2 on a virtual clock; the hanging probe
// talks to a server that never answers and says when it has the request.
let running: Promise<{ server: AwsServer; silent: Server; url: string; arrivals: Array<() => void> }> | undefined;
afterAll(async () => {
  const r = await running?.catch(() => undefined);
  r?.silent.closeAllConnections();
  r?.silent.close();
  await r?.server.stop();
});

describeProbeContract('aws-target-group', async () => {
  running ??= (async () => {
    const server = await new AwsServer().start();
    const arrivals: Array<() => void> = [];
    const silent = createServer(() => arrivals.shift()?.());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    return { server, silent, url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, arrivals };
  })();
  const { server, url, arrivals } = await running;
  const elb = elbv2Double(server);
  const blue = elb.targetGroup('web-blue');
  const green = elb.targetGroup('web-green');
  elb.listener([{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: 100 }, { TargetGroupArn: green, Weight: 0 }] } }]);
  elb.registerTargets(blue, [{ id: '10.0.1.10', port: 8080, health: 'healthy' }]);
  elb.registerTargets(green, [{ id: '10.0.2.10', port: 8080, health: 'unhealthy' }]);
  const clock = createVirtualClock();
  const make = (config: Record<string, unknown>, endpoint = server.url) => (deps: Parameters<typeof awsTargetGroup.create>[1]) =>
    awsTargetGroup.create(awsTargetGroup.configSchema.parse({ type: 'aws-target-group', ...config }), { ...deps, settings: () => settingsSchema.parse({ endpoint }) });
  return {
    clock,
    env: server.env(),
    deps: (states) => fakeDeps({ clock }, { states }),
    working: make({ targetGroupArn: blue }),
    failing: make({ targetGroupArn: green }),
    hanging: make({ targetGroupArn: blue, timeout: '10m' }, url),
    hangingWaits: (abort) => void arrivals.push(abort),
  };
});
