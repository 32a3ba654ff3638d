import { afterAll } from 'vitest';
import { settingsSchema } from '../aws/family.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { cloudWatchDouble } from '../testing/aws/cloudwatch.js';
import { AwsServer } from '../testing/aws/server.js';
import { describeMetricProviderContract } from '../testing/contracts/metric-provider.js';
import { fakeDeps } from '../testing/fakes.js';
import * as cloudwatch from './cloudwatch.js';

// The real CloudWatch SDK client against the AWS double on a virtual clock; a source that cannot
// be reached is CloudWatch throttling every attempt of one query.
let running: Promise<AwsServer> | undefined;
afterAll(async () => (await running?.catch(() => undefined))?.stop());

const ELB = { LoadBalancer: 'app/web/50dc6c495c0c9188', TargetGroup: 'targetgroup/web-green/943f017f100becff' };

describeMetricProviderContract('cloudwatch', async () => {
  running ??= new AwsServer().start();
  const server = await running;
  server.throttle(0);
  const model = cloudWatchDouble(server);
  model.define({ namespace: 'AWS/ApplicationELB', metric: 'TargetResponseTime', dimensions: ELB }, 0.12);
  model.define({ namespace: 'AWS/ApplicationELB', metric: 'RequestCount', dimensions: ELB }, 600);
  model.define({ namespace: 'AWS/ApplicationELB', metric: 'HTTPCode_Target_5XX_Count', dimensions: ELB }, 3);
  const clock = createVirtualClock();
  const env = server.env();
  return {
    clock,
    deps: (states) => fakeDeps({ clock, environment: 'production' }, { states, settings: { aws: settingsSchema.parse({ endpoint: server.url }) } }),
    // The contract's contexts carry only PATH: the keys come as the SDK's default chain would not find them, so they are given here.
    create: (deps) => {
      const provider = cloudwatch.create(cloudwatch.configSchema.parse({ type: 'cloudwatch' }), deps);
      return { type: provider.type, query: (q, ctx) => provider.query(q, { ...ctx, env: { ...ctx.env, ...env } }) };
    },
    sampled: [
      `namespace: AWS/ApplicationELB\nmetric: TargetResponseTime\ndimensions: ${JSON.stringify(ELB)}\nstat: p99`,
      `expression: 100 * errors / requests\nmetrics:\n  errors: { namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, dimensions: ${JSON.stringify(ELB)}, stat: Sum }\n  requests: { namespace: AWS/ApplicationELB, metric: RequestCount, dimensions: ${JSON.stringify(ELB)}, stat: Sum }`,
    ],
    noData: [`namespace: AWS/ApplicationELB\nmetric: TargetResponseTime\ndimensions: { LoadBalancer: app/web/50dc6c495c0c9188 }`],
    injectFault: () => server.throttle(6),
  };
});
