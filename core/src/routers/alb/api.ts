import type { Action, ElasticLoadBalancingV2Client, TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsClient, awsSend, type SdkCommand, sdk as awsSdk } from '../../aws/client.js';
import { ProviderError } from '../../errors.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import { groupName } from './forward.js';

/*
 * The ELBv2 calls of the alb router, through the SDK v3 client the aws family makes: the actions of
 * one rule (DescribeRules / ModifyRule) or of one listener's default (DescribeListeners /
 * ModifyListener), and a target group's health.
 */

export interface AlbApi {
  /** `rule …/1a2b of listener …` or `the default action of listener …`, for messages. */
  where: string;
  /** The object a change names. */
  object: string;
  read(ctx: StepContext): Promise<{ actions: Action[]; where: string }>;
  write(actions: Action[], ctx: StepContext): Promise<void>;
  health(targetGroupArn: string, ctx: StepContext): Promise<TargetHealthDescription[]>;
}

type Sdk = typeof import('@aws-sdk/client-elastic-load-balancing-v2');

export function albApi(deps: ProviderDeps, config: { ruleArn?: string | undefined; listenerArn?: string | undefined }): AlbApi {
  const client = awsClient<ElasticLoadBalancingV2Client>(deps, 'elbv2', async () => (await awsSdk(import('@aws-sdk/client-elastic-load-balancing-v2'))).ElasticLoadBalancingV2Client);
  const send = async <T>(make: (m: Sdk) => unknown, what: string, ctx: StepContext): Promise<T> => {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError(`alb router: ${what} was cancelled`);
    const c = await client(ctx);
    return awsSend<T>(c, make(await awsSdk(import('@aws-sdk/client-elastic-load-balancing-v2'))) as SdkCommand<T>, { service: 'alb router', what, ctx });
  };
  const short = (arn: string) => arn.replace(/^arn:aws[\w-]*:elasticloadbalancing:[^:]*:\d*:/, '');
  const rule = config.ruleArn;
  const listener = config.listenerArn as string;
  const where = rule ? `rule ${short(rule)}` : `the default action of listener ${short(listener)}`;

  return {
    where,
    object: rule ? `alb-rule/${short(rule).replace(/^listener-rule\//, '')}` : `alb-listener/${short(listener).replace(/^listener\//, '')}`,
    async read(ctx) {
      if (rule) {
        const out = await send<{ Rules?: { Actions?: Action[] }[] }>((m) => new m.DescribeRulesCommand({ RuleArns: [rule] }), `read ${where}`, ctx);
        return { actions: out.Rules?.[0]?.Actions ?? [], where };
      }
      const out = await send<{ Listeners?: { DefaultActions?: Action[] }[] }>((m) => new m.DescribeListenersCommand({ ListenerArns: [listener] }), `read ${where}`, ctx);
      return { actions: out.Listeners?.[0]?.DefaultActions ?? [], where };
    },
    async write(actions, ctx) {
      if (rule) await send((m) => new m.ModifyRuleCommand({ RuleArn: rule, Actions: actions }), `set the weights of ${where}`, ctx);
      else await send((m) => new m.ModifyListenerCommand({ ListenerArn: listener, DefaultActions: actions }), `set the weights of ${where}`, ctx);
    },
    async health(targetGroupArn, ctx) {
      const out = await send<{ TargetHealthDescriptions?: TargetHealthDescription[] }>(
        (m) => new m.DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
        `read the health of ${groupName(targetGroupArn)}`,
        ctx,
      );
      return out.TargetHealthDescriptions ?? [];
    },
  };
}
