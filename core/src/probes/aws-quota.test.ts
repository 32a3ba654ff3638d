import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settingsSchema } from '../aws/family.js';
import { createVirtualClock, type VirtualClock } from '../clocks/virtual.js';
import type { Logger } from '../ports/logger.js';
import { type CloudWatchModel, cloudWatchDouble } from '../testing/aws/cloudwatch.js';
import { awsFault, AwsServer } from '../testing/aws/server.js';
import { serviceQuotasDouble, type ServiceQuotasModel } from '../testing/aws/service-quotas.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import * as awsQuota from './aws-quota.js';

const FARGATE_USAGE = { namespace: 'AWS/Usage', metric: 'ResourceCount', dimensions: { Service: 'Fargate', Type: 'Resource', Resource: 'OnDemand', Class: 'Standard/OnDemand' } };

let server: AwsServer;
let quotas: ServiceQuotasModel;
let cloudwatch: CloudWatchModel;
let clock: VirtualClock;
let lines: string[];
const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), output: () => {} };
beforeEach(async () => {
  server = await new AwsServer().start();
  clock = createVirtualClock();
  quotas = serviceQuotasDouble(server);
  cloudwatch = cloudWatchDouble(server);
  quotas.quota({ serviceCode: 'fargate', quotaCode: 'L-3032A538', name: 'Fargate On-Demand vCPU resource count', value: 16, usage: { ...FARGATE_USAGE, stat: 'Maximum' } });
  quotas.quota({ serviceCode: 'ec2', quotaCode: 'L-1216C47A', name: 'Running On-Demand Standard instances', value: 64, unit: 'None' });
  cloudwatch.define(FARGATE_USAGE, 12);
  lines = [];
});
afterEach(() => server.stop());

const probe = (config: Record<string, unknown>) =>
  awsQuota.create(
    awsQuota.configSchema.parse({ type: 'aws-quota', serviceCode: 'fargate', quotaCode: 'L-3032A538', ...config }),
    fakeDeps({ clock, log }, { settings: { aws: settingsSchema.parse({ endpoint: server.url }) } }),
  );
const ctx = () => fakeStepContext({ clock, log, env: server.env() });

describe('aws-quota probe', () => {
  it('without usage: the applied quota value', async () => {
    expect(await probe({ serviceCode: 'ec2', quotaCode: 'L-1216C47A' }).check(ctx())).toMatchObject({
      ok: true,
      value: 64,
      details: { quota: 64, unit: 'None', quotaName: 'Running On-Demand Standard instances', adjustable: true },
    });
    expect(server.calls.map((c) => [c.operation, c.params])).toEqual([['GetServiceQuota', { ServiceCode: 'ec2', QuotaCode: 'L-1216C47A' }]]);
  });

  it("usage from the quota's own usage metric: value is the headroom, ok while there is room for minHeadroom", async () => {
    expect(await probe({ usage: 'metric', minHeadroom: 4 }).check(ctx())).toMatchObject({ ok: true, value: 4, details: { quota: 16, usage: 12, headroom: 4 } });
    const read = server.callsOf('GetMetricData')[0]?.params as { MetricDataQueries: Array<{ MetricStat: { Stat: string; Period: number } }> };
    expect(read.MetricDataQueries[0]?.MetricStat).toMatchObject({ Stat: 'Maximum', Period: 300 });
    const short = await probe({ usage: 'metric', minHeadroom: 8 }).check(ctx());
    expect(short).toMatchObject({ ok: false, value: 4 });
    expect(short.error).toBe('aws-quota probe: Fargate On-Demand vCPU resource count: 12 of 16 used, room for 4, 8 needed');
  });

  it('usage as a number or a named metric; a granted increase shows at the next check', async () => {
    expect(await probe({ usage: 16 }).check(ctx())).toMatchObject({ ok: false, value: 0 });
    quotas.setValue('fargate', 'L-3032A538', 32);
    expect(await probe({ usage: 16 }).check(ctx())).toMatchObject({ ok: true, value: 16 });
    expect(await probe({ usage: FARGATE_USAGE }).check(ctx())).toMatchObject({ ok: true, value: 20, details: { usage: 12 } });
  });

  it('a usage metric with no datapoint is unknown usage, not zero', async () => {
    const result = await probe({ usage: { ...FARGATE_USAGE, dimensions: { Service: 'Fargate' } } }).check(ctx());
    expect(result).toMatchObject({ ok: false, value: null, details: { quota: 16, usage: null, noData: true } });
    expect(result.error).toMatch(/^aws-quota probe: the usage of the quota fargate\/L-3032A538 is unknown: aws-quota: no data: AWS\/Usage ResourceCount Maximum \{Service=Fargate\} has no datapoint between/);
  });

  it('a quota with only AWS\'s default value in the account: the default is the quota in force', async () => {
    quotas.quota({ serviceCode: 'ecs', quotaCode: 'L-9EF96962', name: 'Tasks per service', value: 5000, defaultOnly: true });
    expect(await probe({ serviceCode: 'ecs', quotaCode: 'L-9EF96962', usage: 30 }).check(ctx())).toMatchObject({
      ok: true,
      value: 4970,
      details: { quota: 5000, usage: 30, headroom: 4970, defaultOnly: true },
    });
    expect(server.calls.map((c) => c.operation)).toEqual(['GetServiceQuota', 'GetAWSDefaultServiceQuota']);
  });

  it('a quota that does not exist (NoSuchResourceException) says how to find the codes', async () => {
    expect(await probe({ quotaCode: 'L-00000000' }).check(ctx())).toMatchObject({
      ok: false,
      value: null,
      details: { exists: false },
      error: 'aws-quota probe: no quota fargate/L-00000000 in this account and region (NoSuchResourceException); check the codes with aws service-quotas list-service-quotas --service-code fargate',
    });
  });

  it('access denied names the IAM action; for the usage metric, cloudwatch:GetMetricData', async () => {
    server.fail('GetServiceQuota', awsFault('AccessDeniedException', 'User is not authorized to perform this action', 400), 1);
    expect((await probe({}).check(ctx())).error).toBe(
      'aws-quota probe: aws-quota: cannot read the quota fargate/L-3032A538: access denied (AccessDeniedException): User is not authorized to perform this action; grant servicequotas:GetServiceQuota to the role rollgate runs as',
    );
    server.fail('GetMetricData', awsFault('AccessDenied', 'User is not authorized to perform this action', 403), 1);
    expect((await probe({ usage: 'metric' }).check(ctx())).error).toMatch(/access denied \(AccessDenied\); grant cloudwatch:GetMetricData to the role rollgate runs as$/);
  });

  it('throttled (TooManyRequestsException) then answering', async () => {
    server.fail('GetServiceQuota', awsFault('TooManyRequestsException', 'Rate exceeded', 400), 2);
    expect(await probe({}).check(ctx())).toMatchObject({ ok: true, value: 16 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^aws-quota: read the quota fargate\/L-3032A538: throttled, retrying in/);
  });

  it('credentials that expired say to renew them', async () => {
    server.expireCredentials();
    expect((await probe({}).check(ctx())).error).toBe(
      'aws-quota probe: aws-quota: cannot read the quota fargate/L-3032A538: the credentials were refused (ExpiredTokenException): they may have expired; renew them (the OIDC role session, the CI secret) and run `rollgate resume`',
    );
  });

  it('minHeadroom needs usage; a quota code is L-XXXXXXXX', () => {
    expect(awsQuota.configSchema.safeParse({ type: 'aws-quota', serviceCode: 'fargate', quotaCode: 'L-3032A538', minHeadroom: 2 }).success).toBe(false);
    expect(awsQuota.configSchema.safeParse({ type: 'aws-quota', serviceCode: 'fargate', quotaCode: 'vcpu' }).success).toBe(false);
  });
});
