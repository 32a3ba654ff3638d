import { isDeepStrictEqual } from 'node:util';
import type { Action, TargetGroupTuple } from '@aws-sdk/client-elastic-load-balancing-v2';
import { z } from 'zod';
import { duration } from '../config/fields.js';
import { ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { albApi } from './alb/api.js';
import { albWeights, entryModel, forwardOf, weightsOf, withGroups } from './alb/forward.js';
import { awaitHealthyTargets } from './alb/health.js';
import { planSplit, shareOf } from './kubernetes/split.js';

export const type = 'alb';

const arn = (kind: string) => z.string().regex(new RegExp(`^arn:aws[\\w-]*:elasticloadbalancing:[^:]*:\\d*:${kind}/`), `expected an ELB ${kind} ARN`);

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    ruleArn: arn('listener-rule').optional().describe('The listener rule whose forward action rollgate weighs'),
    listenerArn: arn('listener').optional().describe("The listener whose default action rollgate weighs (when the traffic goes through no rule of its own); ruleArn wins when both are given"),
    stableTargetGroupArn: arn('targetgroup').describe('The target group of the stable version (the stable ECS service registers its tasks there)'),
    candidateTargetGroupArn: arn('targetgroup')
      .optional()
      .describe(
        "The target group of the new version (default: the ecs target's candidateTargetGroupArn). ECS registers a service's tasks only in a group a load balancer forwards to, so put it in the forward action with weight 0 before the first run",
      ),
    healthTimeout: duration('How long rollgate waits for a healthy target in the candidate target group before it moves traffic there').prefault('3m'),
    interval: duration("How often the candidate target group's health is read while rollgate waits").prefault('5s'),
  })
  .refine((c) => c.ruleArn !== undefined || c.listenerArn !== undefined, { message: 'give ruleArn (a listener rule) or listenerArn (its default action)', path: ['ruleArn'] })
  .refine((c) => c.candidateTargetGroupArn === undefined || c.candidateTargetGroupArn !== c.stableTargetGroupArn, {
    message: 'candidateTargetGroupArn must name another target group than stableTargetGroupArn',
    path: ['candidateTargetGroupArn'],
  })
  .describe(
    "Splits traffic by the target group weights of an Application Load Balancer rule's forward action (ELB weights 0–999, written as exact percents); finalize puts the forward action back as found, unless someone else changed its split since rollgate's last write. Each change is read back, and traffic moves to the candidate group only once it has a healthy target",
  );
export type AlbRouterConfig = z.output<typeof configSchema>;

/** The forward action as rollgate found it, kept before its first change, and the splits rollgate last wrote. */
interface Kept {
  found: Action;
  /** The split before rollgate's last write and the one it wrote (kept before the write, so a crash between leaves either). */
  wrote?: Array<Record<string, number>>;
}

/**
 * An ALB listener rule (or a listener's default action) carries the split in its forward action's
 * weighted target groups. setWeights reads the actions, plans the two groups' weights (anyone
 * else's group with traffic refused), checks that the
 * candidate group has a healthy target before it sends it any, writes the actions back whole and
 * reads them back; finalize writes the forward action back as found.
 */
export function create(config: AlbRouterConfig, deps: ProviderDeps): TrafficRouter {
  const fromTarget = deps.target?.type === 'ecs' ? deps.target.candidateTargetGroupArn : undefined;
  const candidate = config.candidateTargetGroupArn ?? (typeof fromTarget === 'string' ? fromTarget : undefined);
  const api = albApi(deps, config);
  const model = entryModel(config.stableTargetGroupArn, candidate ?? '');
  const kept = () => deps.state.get() as Kept | undefined;
  const limits = { intervalMs: config.interval, timeoutMs: config.healthTimeout };

  const check = (ctx: StepContext) => {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError('alb router: cancelled');
    if (candidate === undefined) {
      throw new ProviderError('alb router: no candidate target group: set candidateTargetGroupArn on the router, or on the ecs target the stage deploys', { nothingChanged: true });
    }
  };

  /** Writes the forward action `desired` makes of the one read now and the one found, reports it, and reads it back. */
  async function write(desired: (groups: TargetGroupTuple[], action: Action, found: Action) => Action, ctx: StepContext, finalizing = false): Promise<void> {
    const { actions, where } = await api.read(ctx);
    const forward = forwardOf(actions, where);
    // The forward action as found, on disk in the journal before the first change.
    if (kept() === undefined) await deps.state.put({ found: forward.action } satisfies Kept);
    const state = kept() as Kept;
    const live = weightsOf(forward.groups);
    // Only a split rollgate wrote is put back: one someone else set since stays, and a person decides.
    if (finalizing && state.wrote !== undefined && !state.wrote.some((w) => isDeepStrictEqual(w, live))) {
      throw new ProviderError(
        `alb router: ${where} splits ${JSON.stringify(live)} now, not ${JSON.stringify(state.wrote.at(-1))} as rollgate last set it: someone else changed its target groups or weights since, so rollgate does not put ${JSON.stringify(weightsOf(forwardOf([state.found], where).groups))} back over it; check who else manages this rule, and set its weights by hand if they should go`,
      );
    }
    const next = desired(forward.groups, forward.action, state.found);
    if (isDeepStrictEqual(next, forward.action)) return;
    const after = forwardOf([next], where).groups;
    await deps.state.put({ ...state, wrote: [live, weightsOf(after)] } satisfies Kept);
    await api.write(withGroups(actions, -1, []).map((a, i) => (i === forward.index ? next : a)), ctx);
    ctx.recordChange({ object: api.object, field: 'forward.TargetGroups', before: live, after: weightsOf(after) });
    // Read back: what ELB stores is what rollgate reports.
    const back = forwardOf((await api.read(ctx)).actions, where).groups;
    if (!isDeepStrictEqual(weightsOf(back), weightsOf(after))) {
      throw new ProviderError(`alb router: ${where} reads back ${JSON.stringify(weightsOf(back))} after rollgate wrote ${JSON.stringify(weightsOf(after))}: something else changed it; check who else manages this rule`, {
        retryable: true,
      });
    }
  }

  return {
    type,
    async setWeights(w, ctx) {
      check(ctx);
      // Before any request: a share ELB cannot carry changes nothing.
      const weights = albWeights(w.canary);
      if (weights.canary > 0) await awaitHealthyTargets(api, candidate as string, limits, ctx);
      await write((groups, action) => {
        const planned = planSplit(groups, weights, model, api.where);
        return withGroups([action], 0, planned)[0] as Action;
      }, ctx);
    },

    async getWeights(ctx) {
      check(ctx);
      const { actions, where } = await api.read(ctx);
      const share = shareOf(forwardOf(actions, where).groups, model);
      if (share === undefined) throw new ProviderError(`alb router: ${where} sends no traffic anywhere (every target group weight is 0)`);
      return { canary: share };
    },

    async finalize(ctx) {
      // Never touched: the rule is as it was found, whoever set it.
      if (kept() === undefined) return;
      check(ctx);
      await write((_groups, _action, found) => found, ctx, true);
    },
  };
}
