import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import { formatLimit } from '../../util/command-runner.js';
import type { AlbApi } from './api.js';
import { groupName } from './forward.js';

/*
 * Traffic goes to the candidate target group only once ELB reports a healthy target in it: the
 * candidate service's tasks take a while to register and pass their health checks, and a share
 * sent to a group with none is answered 503 by the load balancer. Targets of a group no listener
 * uses yet are `unused` for the reason Target.NotInUse (ELB checks them only once a rule forwards
 * to it): then rollgate moves the traffic and says so, as the first weight is what puts the group
 * in use. `unused` for any other reason (a target in an Availability Zone the load balancer does
 * not serve, a stopped instance) is a target that will not take traffic, and is waited on.
 */

/** `2 healthy, 1 initial (Elb.RegistrationInProgress)` */
function summary(targets: TargetHealthDescription[]): string {
  if (targets.length === 0) return 'no target registered';
  const by = new Map<string, number>();
  for (const t of targets) {
    const key = `${t.TargetHealth?.State ?? 'unknown'}${t.TargetHealth?.Reason && t.TargetHealth.State !== 'healthy' ? ` (${t.TargetHealth.Reason})` : ''}`;
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  return [...by].map(([k, n]) => `${n} ${k}`).join(', ');
}

export async function awaitHealthyTargets(api: AlbApi, targetGroupArn: string, limits: { intervalMs: number; timeoutMs: number }, ctx: StepContext): Promise<void> {
  const until = ctx.clock.now() + limits.timeoutMs;
  const name = groupName(targetGroupArn);
  let said = '';
  for (;;) {
    const targets = await api.health(targetGroupArn, ctx);
    if (targets.some((t) => t.TargetHealth?.State === 'healthy')) return;
    if (targets.length > 0 && targets.every((t) => t.TargetHealth?.State === 'unused' && t.TargetHealth.Reason === 'Target.NotInUse')) {
      ctx.log.warn(`alb router: ${name} is not used by the load balancer yet (its ${targets.length} targets are unused, so ELB has not checked them): rollgate sends it traffic unchecked, and the analysis judges it`);
      return;
    }
    const now = summary(targets);
    if (ctx.clock.now() >= until) {
      throw new ProviderError(
        `alb router: ${name} has no healthy target after ${formatLimit(limits.timeoutMs)} (${now}), so rollgate sends it no traffic; check that the candidate's tasks register there (the ecs target's candidateTargetGroupArn) and pass the group's health check`,
        { nothingChanged: true },
      );
    }
    if (now !== said) ctx.log.info(`alb router: waiting for a healthy target in ${name} before moving traffic: ${now}`);
    said = now;
    await ctx.clock.sleep(limits.intervalMs, ctx.signal);
  }
}
