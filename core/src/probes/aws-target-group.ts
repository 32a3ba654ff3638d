import { z } from 'zod';
import { awsClient, awsSend, sdk as awsSdk } from '../aws/client.js';
import { duration } from '../config/fields.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { codeOf, type Measured, measureAws, needing } from './aws/probe.js';

/*
 * The health of an ALB/NLB target group as the load balancer sees it (DescribeTargetHealth): value
 * is the number of healthy targets, details count each state and say why the others are not
 * healthy (the reason codes ELB gives: Target.FailedHealthChecks, Elb.RegistrationInProgress…).
 */

export const type = 'aws-target-group';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    targetGroupArn: z
      .string()
      .regex(/^arn:aws[\w-]*:elasticloadbalancing:[\w-]+:\d{12}:targetgroup\/[\w-]+\/[0-9a-f]+$/, 'expected a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)')
      .describe('ARN of the target group'),
    minHealthy: z.number().int().nonnegative().default(1).describe('ok when at least this many targets are healthy'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s)').prefault('3s'),
  })
  .describe('Reads the health of an ELB target group’s targets (DescribeTargetHealth): value is the healthy count, ok when it is at least minHealthy');
export type AwsTargetGroupProbeConfig = z.output<typeof configSchema>;

const sdk = () => awsSdk(import('@aws-sdk/client-elastic-load-balancing-v2'));
const STATES = ['healthy', 'unhealthy', 'initial', 'draining', 'unused', 'unavailable'] as const;
/** Reasons listed in details at most: a group of 200 unhealthy tasks needs a few examples, not all. */
const MAX_REASONS = 5;

export function create(config: AwsTargetGroupProbeConfig, deps: ProviderDeps): Probe {
  const client = awsClient(deps, 'elbv2', async () => (await sdk()).ElasticLoadBalancingV2Client);
  const name = `target group ${config.targetGroupArn.split(':').pop() ?? config.targetGroupArn}`;
  return { type, check: (ctx) => measureAws(type, config.timeout, ctx, measure) };

  async function measure(ctx: StepContext): Promise<Measured> {
    const [elb, { DescribeTargetHealthCommand }] = await Promise.all([client(ctx), sdk()]);
    let described;
    try {
      const command = new DescribeTargetHealthCommand({ TargetGroupArn: config.targetGroupArn });
      described = await needing('elasticloadbalancing:DescribeTargetHealth', awsSend(elb, command, { service: type, what: `read the health of ${name}`, ctx }));
    } catch (err) {
      if (!codeOf(err, 'TargetGroupNotFound', 'TargetGroupNotFoundException')) throw err;
      return { ok: false, value: null, details: { exists: false }, error: `the ${name} does not exist in this account and region; check targetGroupArn and aws.region` };
    }
    const targets = described.TargetHealthDescriptions ?? [];
    const counts: Record<string, number> = Object.fromEntries(STATES.map((s) => [s, 0]));
    const reasons: string[] = [];
    for (const t of targets) {
      const state = t.TargetHealth?.State ?? 'unavailable';
      counts[state] = (counts[state] ?? 0) + 1;
      if (state !== 'healthy' && reasons.length < MAX_REASONS) {
        const why = t.TargetHealth?.Reason ?? t.TargetHealth?.Description;
        reasons.push(`${t.Target?.Id ?? '?'}${t.Target?.Port ? `:${t.Target.Port}` : ''} ${state}${why ? ` (${why})` : ''}`);
      }
    }
    const healthy = counts.healthy ?? 0;
    const ok = healthy >= config.minHealthy;
    return {
      ok,
      value: healthy,
      details: { exists: true, ...counts, total: targets.length, reasons: reasons.join('; ') },
      ...(ok ? {} : { error: `${healthy} of ${targets.length} targets of the ${name} healthy, ${config.minHealthy} needed${reasons.length ? `: ${reasons.join('; ')}` : ''}` }),
    };
  }
}
