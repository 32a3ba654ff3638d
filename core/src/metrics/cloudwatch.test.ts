import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settingsSchema } from '../aws/family.js';
import { createVirtualClock, type VirtualClock } from '../clocks/virtual.js';
import { NoDataError, type ProviderError } from '../errors.js';
import type { Logger } from '../ports/logger.js';
import { type CloudWatchModel, cloudWatchDouble } from '../testing/aws/cloudwatch.js';
import { awsFault, AwsServer } from '../testing/aws/server.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import * as cloudwatch from './cloudwatch.js';

const ELB = { LoadBalancer: 'app/web/50dc6c495c0c9188', TargetGroup: 'targetgroup/web-green/943f017f100becff' };
const LATENCY = { namespace: 'AWS/ApplicationELB', metric: 'TargetResponseTime', dimensions: ELB };
const P99 = `namespace: AWS/ApplicationELB\nmetric: TargetResponseTime\ndimensions: ${JSON.stringify(ELB)}\nstat: p99`;
const RATIO = `expression: 100 * errors / requests
metrics:
  errors: { namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, dimensions: ${JSON.stringify(ELB)}, stat: Sum }
  requests: { namespace: AWS/ApplicationELB, metric: RequestCount, dimensions: ${JSON.stringify(ELB)}, stat: Sum }`;

let server: AwsServer;
let model: CloudWatchModel;
let clock: VirtualClock;
let lines: string[];
const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), output: () => {} };
beforeEach(async () => {
  server = await new AwsServer().start();
  model = cloudWatchDouble(server);
  // 12:00:30: the window ends at the last whole minute, 12:00.
  clock = createVirtualClock(Date.UTC(2026, 11, 3, 12, 0, 30));
  lines = [];
  model.define(LATENCY, (t) => (t >= Date.UTC(2026, 11, 3, 11, 59) ? 0.25 : 0.1));
  model.define({ ...LATENCY, metric: 'HTTPCode_Target_5XX_Count' }, 6);
  model.define({ ...LATENCY, metric: 'RequestCount' }, 1200);
});
afterEach(() => server.stop());

const provider = (config: Record<string, unknown> = {}) =>
  cloudwatch.create(cloudwatch.configSchema.parse({ type: 'cloudwatch', ...config }), fakeDeps({ clock, log }, { settings: { aws: settingsSchema.parse({ endpoint: server.url }) } }));
const ctx = () => fakeStepContext({ clock, log, env: server.env() });
const failure = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected the query to fail').toBeInstanceOf(Error);
  return err as ProviderError;
};
const sent = () => server.callsOf('GetMetricData').map((c) => c.params as { MetricDataQueries: unknown[]; StartTime: number; EndTime: number; NextToken?: string });

describe('cloudwatch metric provider', () => {
  it('asks for the whole lookback as one period, ending at the last whole minute, and answers its datapoint', async () => {
    expect(await provider().query(P99, ctx())).toBe(0.1);
    const [call] = sent();
    expect(call).toMatchObject({ StartTime: Date.UTC(2026, 11, 3, 11, 55) / 1000, EndTime: Date.UTC(2026, 11, 3, 12, 0) / 1000, ScanBy: 'TimestampDescending' });
    expect(call?.MetricDataQueries).toEqual([
      {
        Id: 'm',
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'TargetResponseTime', Dimensions: [{ Name: 'LoadBalancer', Value: ELB.LoadBalancer }, { Name: 'TargetGroup', Value: ELB.TargetGroup }] }, Period: 300, Stat: 'p99' },
        ReturnData: true,
      },
    ]);
  });

  it('with a shorter period the newest datapoint is the value', async () => {
    expect(await provider().query(`${P99}\nperiod: 1m`, ctx())).toBe(0.25);
  });

  it('evaluates metric math over named metrics in one call', async () => {
    expect(await provider().query(RATIO, ctx())).toBeCloseTo(0.5);
    expect(sent()).toHaveLength(1);
    expect((sent()[0]?.MetricDataQueries as Array<{ Id: string; ReturnData: boolean }>).map((q) => [q.Id, q.ReturnData])).toEqual([
      ['errors', false],
      ['requests', false],
      ['result', true],
    ]);
  });

  it('reads every page (NextToken) and takes the newest datapoint', async () => {
    model.pageSize = 2;
    expect(await provider({ lookback: '10m' }).query(`${P99}\nperiod: 1m`, ctx())).toBe(0.25);
    expect(sent().map((c) => c.NextToken)).toEqual([undefined, '2', '4', '6', '8']);
  });

  it('no datapoint is no data, never zero, and says where it looked', async () => {
    const err = await failure(provider().query(`namespace: AWS/ApplicationELB\nmetric: TargetResponseTime\ndimensions: { LoadBalancer: app/web/50dc6c495c0c9188 }`, ctx()));
    expect(err).toBeInstanceOf(NoDataError);
    expect(err.message).toBe(
      'cloudwatch: no data: AWS/ApplicationELB TargetResponseTime Average {LoadBalancer=app/web/50dc6c495c0c9188} over 5m has no datapoint between 2026-12-03 11:55 and 2026-12-03 12:00 UTC; check the namespace, the metric name and every dimension (CloudWatch matches the exact set), and that the service reports',
    );
  });

  it('StatusCode Forbidden names the permission; PartialData without NextToken keeps what came', async () => {
    model.status(LATENCY, 'Forbidden');
    const err = await failure(provider().query(P99, ctx()));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(
      `cloudwatch: not allowed to read AWS/ApplicationELB TargetResponseTime p99 {LoadBalancer=${ELB.LoadBalancer}, TargetGroup=${ELB.TargetGroup}} over 5m (StatusCode Forbidden: Insufficient permissions to read metric AWS/ApplicationELB TargetResponseTime); grant cloudwatch:GetMetricData on it to the role rollgate runs as (for another account's metric, share it with this one)`,
    );
    model.status(LATENCY, 'PartialData');
    expect(await provider().query(P99, ctx())).toBe(0.1);
  });

  it('StatusCode InternalError is retried on the step clock; if it lasts, a retryable error', async () => {
    model.status(LATENCY, 'InternalError');
    const err = await failure(provider().query(P99, ctx()));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^cloudwatch: CloudWatch failed to read AWS\/ApplicationELB TargetResponseTime p99 .* \(StatusCode InternalError: An internal error occurred\)$/);
    expect(sent()).toHaveLength(6);
    expect(lines).toHaveLength(5);
  });

  it('throttled (ThrottlingException) then succeeding, on the step clock', async () => {
    server.throttle(2);
    const before = clock.now();
    expect(await provider().query(P99, ctx())).toBe(0.1);
    expect(lines).toEqual([expect.stringMatching(/^cloudwatch: read .*: throttled, retrying in .* \(attempt 2 of 6\)$/), expect.stringMatching(/attempt 3 of 6\)$/)]);
    expect(clock.now()).toBeGreaterThan(before);
  });

  it('access denied names the IAM action', async () => {
    server.fail('GetMetricData', awsFault('AccessDenied', 'User: arn:aws:sts::123456789012:assumed-role/ci/rollgate is not authorized to perform this operation', 403));
    const err = await failure(provider().query(P99, ctx()));
    expect(err.message).toMatch(/^cloudwatch: cannot read .* over 5m: access denied \(AccessDenied\); grant cloudwatch:GetMetricData to the role rollgate runs as$/);
  });

  it('credentials that expired mid-run say to renew them', async () => {
    expect(await provider().query(P99, ctx())).toBe(0.1);
    server.expireCredentials();
    const err = await failure(provider().query(P99, ctx()));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/: the credentials were refused \(ExpiredTokenException\): they may have expired; renew them/);
  });

  it('a query that is not valid says how to write it', async () => {
    const err = await failure(provider().query('namespace: AWS/ECS\nmetrc: CPUUtilization', ctx()));
    expect(err.message).toMatch(/^cloudwatch: the metric query is not valid \(metric: .*\); write namespace:, metric:, dimensions:, stat: and optionally period:, or expression: with metrics:/);
    expect(cloudwatch.configSchema.safeParse({ type: 'cloudwatch', lookback: '90s' }).success).toBe(false);
  });

  it('never shows a credential in a message or a log line', async () => {
    const seen: string[] = [];
    server.throttle(1);
    await provider().query(P99, ctx());
    server.expireCredentials();
    seen.push((await failure(provider().query(P99, ctx()))).message);
    const text = [...seen, ...lines].join('\n');
    const env = server.env();
    expect(text).not.toContain(env.AWS_SECRET_ACCESS_KEY);
    expect(text).not.toContain(env.AWS_ACCESS_KEY_ID);
  });
});
