import { z } from 'zod';
import { awsClient, awsSend, sdk as awsSdk } from '../aws/client.js';
import { duration } from '../config/fields.js';
import { NoDataError } from '../errors.js';
import { cloudWatchClient, latest, metricData, windowEndingNow } from '../metrics/cloudwatch/get-metric-data.js';
import { describeMetric, metricStatFields, statQuery } from '../metrics/cloudwatch/query.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { codeOf, type Measured, measureAws, needing } from './aws/probe.js';

/*
 * A Service Quotas value, and with `usage` the room left under it: the gate before a deploy that
 * needs N more tasks, instances or IPs ("is there room for a second copy of the service?"). Usage
 * is a number, the quota's own usage metric in CloudWatch (`usage: metric`), or a metric named
 * here; its highest value over `lookback` counts, so a peak a minute ago is not forgotten.
 */

export const type = 'aws-quota';

const usageMetric = z.strictObject({ ...metricStatFields, stat: metricStatFields.stat.default('Maximum') });

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    serviceCode: z.string().min(1).describe('Service code, such as fargate, ec2, ecs, elasticloadbalancing'),
    quotaCode: z.string().regex(/^L-[0-9A-F]{8}$/, 'expected a quota code such as L-3032A538').describe('Quota code (L-…), as `aws service-quotas list-service-quotas` shows it'),
    usage: z
      .union([
        z.number().nonnegative().describe('Usage as a number'),
        z.literal('metric').describe("The quota's own usage metric (AWS/Usage), with its recommended statistic"),
        usageMetric.describe('A CloudWatch metric: namespace, metric, dimensions, stat (default Maximum)'),
      ])
      .optional()
      .describe('What is used of the quota now; with it, value is the headroom (quota − usage)'),
    minHeadroom: z.number().nonnegative().optional().describe('ok only when quota − usage is at least this (default 1 with usage: room for one more)'),
    lookback: duration('Window of the usage metric, whole minutes (its statistic over the window counts)')
      .prefault('5m')
      .refine((ms) => ms >= 60_000 && ms % 60_000 === 0, 'lookback is whole minutes (1m, 5m…)'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s)').prefault('4s'),
  })
  .refine((c) => c.minHeadroom === undefined || c.usage !== undefined, { message: 'minHeadroom needs `usage` (a number, `metric`, or a CloudWatch metric)', path: ['minHeadroom'] })
  .describe('Reads a Service Quotas value (GetServiceQuota); with `usage`, value is the headroom under it and ok says there is room for minHeadroom more');
export type AwsQuotaProbeConfig = z.output<typeof configSchema>;

const sdk = () => awsSdk(import('@aws-sdk/client-service-quotas'));

export function create(config: AwsQuotaProbeConfig, deps: ProviderDeps): Probe {
  const quotas = awsClient(deps, 'servicequotas', async () => (await sdk()).ServiceQuotasClient);
  const cloudwatch = cloudWatchClient(deps);
  const name = `quota ${config.serviceCode}/${config.quotaCode}`;
  return { type, check: (ctx) => measureAws(type, config.timeout, ctx, measure) };

  async function measure(ctx: StepContext): Promise<Measured> {
    const [client, { GetServiceQuotaCommand, GetAWSDefaultServiceQuotaCommand }] = await Promise.all([quotas(ctx), sdk()]);
    const input = { ServiceCode: config.serviceCode, QuotaCode: config.quotaCode };
    let quota;
    let defaultOnly = false;
    try {
      quota = (await needing('servicequotas:GetServiceQuota', awsSend(client, new GetServiceQuotaCommand(input), { service: type, what: `read the ${name}`, ctx }))).Quota;
    } catch (err) {
      if (!codeOf(err, 'NoSuchResourceException')) throw err;
      // AWS has no applied value for some quotas in an account ("only the default values are
      // available"): the default is then the quota in force.
      try {
        quota = (await needing('servicequotas:GetAWSDefaultServiceQuota', awsSend(client, new GetAWSDefaultServiceQuotaCommand(input), { service: type, what: `read the default ${name}`, ctx }))).Quota;
        defaultOnly = quota !== undefined;
      } catch (inner) {
        if (!codeOf(inner, 'NoSuchResourceException')) throw inner;
      }
    }
    if (quota?.Value === undefined) {
      return {
        ok: false,
        value: null,
        details: { exists: false },
        error: `no ${name} in this account and region (NoSuchResourceException); check the codes with aws service-quotas list-service-quotas --service-code ${config.serviceCode}`,
      };
    }
    const base = { quota: quota.Value, unit: quota.Unit ?? null, quotaName: quota.QuotaName ?? null, adjustable: quota.Adjustable ?? null, ...(defaultOnly ? { defaultOnly } : {}) };
    if (config.usage === undefined) return { ok: true, value: quota.Value, details: base };
    let usage: number;
    try {
      usage = typeof config.usage === 'number' ? config.usage : await usageFrom(config.usage, quota.UsageMetric, ctx);
    } catch (err) {
      if (!(err instanceof NoDataError)) throw err;
      return { ok: false, value: null, details: { ...base, usage: null, noData: true }, error: `the usage of the ${name} is unknown: ${err.message}` };
    }
    const headroom = quota.Value - usage;
    const wanted = config.minHeadroom ?? 1;
    const ok = headroom >= wanted;
    return {
      ok,
      value: headroom,
      details: { ...base, usage, headroom },
      ...(ok ? {} : { error: `${quota.QuotaName ?? name}: ${usage} of ${quota.Value} used, room for ${Math.max(0, headroom)}, ${wanted} needed` }),
    };
  }

  async function usageFrom(
    usage: 'metric' | z.output<typeof usageMetric>,
    own: { MetricNamespace?: string; MetricName?: string; MetricDimensions?: Record<string, string>; MetricStatisticRecommendation?: string } | undefined,
    ctx: StepContext,
  ): Promise<number> {
    let metric = usage === 'metric' ? undefined : usage;
    if (usage === 'metric') {
      if (!own?.MetricNamespace || !own.MetricName) throw new Error(`AWS publishes no usage metric for the ${name}; give usage as a number or a CloudWatch metric`);
      metric = { namespace: own.MetricNamespace, metric: own.MetricName, dimensions: own.MetricDimensions ?? {}, stat: own.MetricStatisticRecommendation ?? 'Maximum' };
    }
    const m = metric as z.output<typeof usageMetric>;
    const window = windowEndingNow(ctx, config.lookback);
    const shown = describeMetric(m);
    const points = await metricData(cloudwatch, { queries: [statQuery('usage', m, Math.round(config.lookback / 1000), true)], id: 'usage', shown, window }, ctx, type);
    return latest(points, shown, window, type);
  }
}
