import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settingsSchema } from '../aws/family.js';
import { createVirtualClock } from '../clocks/virtual.js';
import type { Logger } from '../ports/logger.js';
import { elbv2Double, type Elbv2Model } from '../testing/aws/elbv2.js';
import { awsFault, AwsServer } from '../testing/aws/server.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import * as awsTargetGroup from './aws-target-group.js';

let server: AwsServer;
let elb: Elbv2Model;
let green: string;
let lines: string[];
const clock = createVirtualClock();
const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), output: () => {} };
beforeEach(async () => {
  server = await new AwsServer().start();
  elb = elbv2Double(server);
  green = elb.targetGroup('web-green');
  // In use by a listener: ELB reports the targets' health (an unused group's targets are `unused`).
  elb.listener([{ Type: 'forward', TargetGroupArn: green }]);
  elb.registerTargets(green, [
    { id: '10.0.1.10', port: 8080, health: 'healthy' },
    { id: '10.0.1.11', port: 8080, health: 'healthy' },
    { id: '10.0.1.12', port: 8080, health: 'initial' },
  ]);
  lines = [];
});
afterEach(() => server.stop());

const probe = (config: Record<string, unknown> = {}) =>
  awsTargetGroup.create(
    awsTargetGroup.configSchema.parse({ type: 'aws-target-group', targetGroupArn: green, ...config }),
    fakeDeps({ clock, log }, { settings: { aws: settingsSchema.parse({ endpoint: server.url }) } }),
  );
const ctx = () => fakeStepContext({ clock, log, env: server.env() });

describe('aws-target-group probe', () => {
  it('counts healthy targets as the value, each state in details, and why the others are not healthy', async () => {
    expect(await probe({ minHealthy: 2 }).check(ctx())).toMatchObject({
      ok: true,
      value: 2,
      details: { exists: true, healthy: 2, initial: 1, unhealthy: 0, draining: 0, unused: 0, unavailable: 0, total: 3, reasons: '10.0.1.12:8080 initial (Elb.RegistrationInProgress)' },
    });
    expect(server.calls.map((c) => [c.operation, c.params])).toEqual([['DescribeTargetHealth', { TargetGroupArn: green }]]);
  });

  it('fewer healthy than minHealthy: not ok, the reasons in the error', async () => {
    elb.registerTargets(green, [
      { id: '10.0.1.10', port: 8080, health: 'unhealthy' },
      { id: '10.0.1.11', port: 8080, health: 'draining' },
    ]);
    const result = await probe({ minHealthy: 2 }).check(ctx());
    expect(result).toMatchObject({ ok: false, value: 0, details: { unhealthy: 1, draining: 1, initial: 1 } });
    expect(result.error).toBe(
      `aws-target-group probe: 0 of 3 targets of the target group targetgroup/web-green/${green.split('/').pop()} healthy, 2 needed: 10.0.1.12:8080 initial (Elb.RegistrationInProgress); 10.0.1.10:8080 unhealthy (Target.FailedHealthChecks); 10.0.1.11:8080 draining (Target.DeregistrationInProgress)`,
    );
  });

  it('a target group that does not exist is data', async () => {
    const missing = green.replace(/\/[0-9a-f]+$/, '/00000000000000ff');
    expect(await probe({ targetGroupArn: missing }).check(ctx())).toMatchObject({
      ok: false,
      value: null,
      details: { exists: false },
      error: 'aws-target-group probe: the target group targetgroup/web-green/00000000000000ff does not exist in this account and region; check targetGroupArn and aws.region',
    });
  });

  it('access denied names the IAM action; throttling is retried; expired credentials say to renew them', async () => {
    server.fail('DescribeTargetHealth', awsFault('AccessDenied', 'User: arn:aws:sts::123456789012:assumed-role/ci/rollgate is not authorized to perform this operation', 403), 1);
    expect((await probe().check(ctx())).error).toMatch(/: access denied \(AccessDenied\): .*; grant elasticloadbalancing:DescribeTargetHealth to the role rollgate runs as$/);
    server.throttle(2);
    expect(await probe().check(ctx())).toMatchObject({ ok: true, value: 2 });
    expect(lines).toHaveLength(2);
    server.expireCredentials();
    expect((await probe().check(ctx())).error).toMatch(/: the credentials were refused \(ExpiredToken\): they may have expired; renew them/);
  });

  it('takes a target group ARN only', () => {
    expect(awsTargetGroup.configSchema.safeParse({ type: 'aws-target-group', targetGroupArn: 'web-green' }).success).toBe(false);
  });
});
