import { ProviderError } from '../../errors.js';
import type { HealthReport } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import { formatLimit } from '../../util/command-runner.js';
import type { Deployment, EcsApi, Service } from './api.js';
import { shortArn } from './images.js';

/*
 * Waiting on an ECS service as `aws ecs wait services-stable` does, but reading the deployment's
 * own verdict: the PRIMARY deployment of the task definition rollgate set must reach rolloutState
 * COMPLETED; FAILED (the deployment circuit breaker's verdict) ends the wait with ECS's reason and
 * the service's last events. DescribeServices is eventually consistent: just after UpdateService it
 * may still show the deployment before, so a read without the new deployment is read again, a few
 * times, before rollgate concludes someone else deployed over it.
 */

export interface Limits {
  intervalMs: number;
  timeoutMs: number;
}

/** Reads that may still show the service as it was before an update (ECS's eventual consistency). */
const STALE_READS = 3;

const primaryOf = (s: Service): Deployment | undefined => (s.deployments ?? []).find((d) => d.status === 'PRIMARY');

/** Tasks of a deployment, as people read them: `1 of 3 tasks running, 2 pending`. */
export function counts(d: Deployment | undefined, s: Service): string {
  const pending = d?.pendingCount ?? s.pendingCount ?? 0;
  return `${d?.runningCount ?? s.runningCount ?? 0} of ${d?.desiredCount ?? s.desiredCount ?? 0} tasks running${pending > 0 ? `, ${pending} pending` : ''}${(d?.failedTasks ?? 0) > 0 ? `, ${d?.failedTasks} failed` : ''}`;
}

/** The service's events since `since` (epoch ms), newest first, at most three, quoted. */
export function lastEvents(s: Service, since: number): string {
  const events = (s.events ?? []).filter((e) => e.createdAt === undefined || new Date(e.createdAt).getTime() >= since - 1_000).slice(0, 3);
  return events.length === 0 ? 'none' : events.map((e) => `"${e.message ?? ''}"`).join('; ');
}

/**
 * Waits until the service's PRIMARY deployment runs `arn` with its rollout COMPLETED (and, with
 * `steady`, no other deployment left and every task running: a change of count only).
 */
export async function awaitDeployment(api: EcsApi, name: string, arn: string, limits: Limits, ctx: StepContext, steady = false): Promise<void> {
  const what = `service ${api.cluster}/${name}`;
  const since = ctx.clock.now();
  const until = since + limits.timeoutMs;
  let said = '';
  for (let read = 1; ; read++) {
    const s = await api.service(name, ctx);
    if (!s) throw new ProviderError(`ecs target: ${what} was deleted while rollgate waited for its deployment of ${shortArn(arn)}`);
    const primary = primaryOf(s);
    const ours = (s.deployments ?? []).find((d) => d.taskDefinition === arn);
    if (ours?.rolloutState === 'FAILED') {
      const back = primary && primary !== ours ? `; ECS is rolling back to ${shortArn(primary.taskDefinition)}` : '';
      throw new ProviderError(
        `ecs target: the deployment ${ours.id ?? ''} of ${shortArn(arn)} to ${what} FAILED: ${ours.rolloutStateReason ?? 'no reason given'} (${counts(ours, s)})${back}. Last events: ${lastEvents(s, since)}. See the stopped tasks' reasons (aws ecs describe-tasks) for why they did not start`,
      );
    }
    if (primary?.taskDefinition === arn) {
      const done = primary.rolloutState === undefined ? primary.runningCount === primary.desiredCount : primary.rolloutState === 'COMPLETED';
      const settled = !steady || ((s.deployments ?? []).length === 1 && primary.runningCount === primary.desiredCount && (primary.pendingCount ?? 0) === 0);
      if (done && settled) return;
    } else if (!ours && read > STALE_READS) {
      // A circuit breaker's rollback that completed between two reads leaves no trace of the FAILED deployment but the events.
      const rolledBack = (s.events ?? []).find((e) => (e.createdAt === undefined || new Date(e.createdAt).getTime() >= since - 1_000) && /deployment failed|rolling back/i.test(e.message ?? ''));
      if (rolledBack) {
        throw new ProviderError(
          `ecs target: the deployment of ${shortArn(arn)} to ${what} failed and ECS's deployment circuit breaker rolled the service back to ${shortArn(primary?.taskDefinition ?? s.taskDefinition)} ("${rolledBack.message ?? ''}"). Last events: ${lastEvents(s, since)}. See the stopped tasks' reasons (aws ecs describe-tasks) for why they did not start`,
        );
      }
      throw new ProviderError(
        `ecs target: ${what} runs ${shortArn(primary?.taskDefinition ?? s.taskDefinition)} now, not ${shortArn(arn)} that rollgate set: someone else deployed it while rollgate waited; check the service's deployments (aws ecs describe-services) and run again`,
      );
    }
    const status = `ecs: ${what}: ${primary?.taskDefinition === arn ? `deployment ${primary.id ?? ''} ${primary.rolloutState ?? ''}` : `waiting for the deployment of ${shortArn(arn)}`}: ${counts(primary?.taskDefinition === arn ? primary : ours, s)}`;
    if (status !== said) ctx.log.info(status);
    said = status;
    if (ctx.clock.now() >= until) {
      throw new ProviderError(
        `ecs target: the deployment of ${shortArn(arn)} to ${what} did not complete within ${formatLimit(limits.timeoutMs)} (${counts(ours ?? primary, s)}). Last events: ${lastEvents(s, since)}. The service still points at ${shortArn(arn)} and ECS keeps trying to start its tasks after rollgate stops waiting; the rollback puts the task definition before back. A task that cannot be placed needs capacity in the cluster; rolloutTimeout waits longer`,
      );
    }
    await ctx.clock.sleep(limits.intervalMs, ctx.signal);
  }
}

/**
 * Waits until a deleted service of this name has stopped its tasks (DRAINING → INACTIVE): ECS
 * answers "Creation of service was not idempotent" to a new service of the same name until then,
 * which is what the next rollout's candidate meets right after the last one's was deleted.
 */
export async function awaitDrained(api: EcsApi, name: string, limits: Limits, ctx: StepContext): Promise<void> {
  const until = ctx.clock.now() + limits.timeoutMs;
  for (let read = 0; await api.draining(name, ctx); read++) {
    if (read === 0) ctx.log.info(`ecs: service ${api.cluster}/${name} of an earlier rollout is still draining (its tasks are stopping); a service of that name can be created once ECS marks it INACTIVE`);
    if (ctx.clock.now() >= until) {
      throw new ProviderError(
        `ecs target: service ${api.cluster}/${name} of an earlier rollout was still draining after ${formatLimit(limits.timeoutMs)}, so no candidate of that name can be created; check its tasks (aws ecs list-tasks --service-name ${name}), or set candidateService to another name`,
      );
    }
    await ctx.clock.sleep(limits.intervalMs, ctx.signal);
  }
}

/** A service's health: its PRIMARY deployment's running tasks against its desired count, rollout completed. */
export function healthOf(s: Service | undefined, what: string): HealthReport {
  if (!s) return { healthy: false, ready: 0, total: 0, message: `ecs target: ${what} does not exist` };
  const primary = primaryOf(s);
  const total = s.desiredCount ?? 0;
  const ready = Math.min(total, primary?.runningCount ?? 0);
  const completed = primary?.rolloutState === undefined || primary.rolloutState === 'COMPLETED';
  const healthy = completed && ready >= total;
  return {
    healthy,
    ready,
    total,
    ...(healthy ? {} : { message: `ecs target: ${what}: deployment ${primary?.id ?? '?'} ${primary?.rolloutState ?? ''}${primary?.rolloutStateReason ? ` (${primary.rolloutStateReason})` : ''}: ${counts(primary, s)}` }),
  };
}
