import type { Cluster, Deployment, EcsService, EcsTask } from './types.js';

/*
 * The ECS deployment controller of the double, one tick at a time: tasks are placed while the
 * cluster has room (else they stay PENDING and the service says it was unable to place a task),
 * start after `startMs` (or stop at once when their image crashes), the PRIMARY deployment
 * completes when all its tasks run (the older deployments' tasks are then stopped), and the
 * deployment circuit breaker fails it after enough failed tasks, rolling back to the last
 * deployment that completed when its `rollback` is on — as the ECS documentation describes.
 */

export interface Progress {
  startMs: number;
  crashes(image: string): boolean;
  /** Tasks of an image this says is slow stay PENDING (an image pull that never ends). */
  slow(image: string): boolean;
  image(taskDefinitionArn: string): string;
  next(): number;
  arn(kind: string, rest: string): string;
}

const live = (s: EcsService, d: Deployment) => s.tasks.filter((t) => t.deploymentId === d.id && t.lastStatus !== 'STOPPED');

/** ECS's circuit breaker threshold: half the desired count, at least 3 and at most 200. */
export const breakerThreshold = (desired: number) => Math.min(200, Math.max(3, Math.ceil(desired / 2)));

function event(s: EcsService, at: number, message: string, p: Progress, repeated = false): void {
  // ECS repeats a placement failure, but not more often than every few minutes.
  const same = repeated ? s.events.find((e) => e.message === message) : undefined;
  if (same && at - same.createdAt < 300_000) return;
  s.events.unshift({ id: `${p.next()}`.padStart(8, '0'), createdAt: at, message });
}

export function advanceService(s: EcsService, cluster: Cluster, at: number, p: Progress): void {
  if (s.status === 'INACTIVE') return;
  const tag = `(service ${s.name})`;
  // Tasks placed long enough ago start, or stop when their container exits.
  for (const t of s.tasks) {
    if (t.lastStatus !== 'PENDING' || t.placedAt === undefined || at - t.placedAt < p.startMs) continue;
    if (p.slow(p.image(t.taskDefinitionArn))) continue;
    const d = s.deployments.find((x) => x.id === t.deploymentId);
    if (p.crashes(p.image(t.taskDefinitionArn))) {
      Object.assign(t, { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedAt: at, stoppedReason: 'Essential container in task exited' });
      if (d) d.failedTasks += 1;
    } else Object.assign(t, { lastStatus: 'RUNNING', startedAt: at });
  }
  const primary = s.deployments[0];
  // The circuit breaker: the deployment fails once enough of its tasks have.
  const breaker = s.deploymentConfiguration.deploymentCircuitBreaker;
  if (primary && breaker?.enable && primary.rolloutState === 'IN_PROGRESS' && primary.failedTasks >= breakerThreshold(primary.desiredCount)) {
    primary.rolloutState = 'FAILED';
    primary.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
    primary.updatedAt = at;
    event(s, at, `${tag} (deployment ${primary.id}) deployment failed: tasks failed to start.`, p);
    const back = s.stableTaskDefinition;
    if (breaker.rollback && back && back !== primary.taskDefinition) {
      primary.status = 'ACTIVE';
      primary.desiredCount = 0;
      for (const d of s.deployments) d.status = 'ACTIVE';
      const previous = s.deployments.find((d) => d.taskDefinition === back);
      s.deployments.unshift({
        id: `ecs-svc/${String(4_100_000_000_000_000_000n + BigInt(p.next()))}`,
        status: 'PRIMARY',
        taskDefinition: back,
        desiredCount: s.desiredCount,
        failedTasks: 0,
        createdAt: at,
        updatedAt: at,
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: `ECS deployment circuit breaker: rolling back to deploymentId ${previous?.id ?? 'unknown'}.`,
      });
      s.taskDefinition = back;
      event(s, at, `${tag} (deployment ${primary.id}) deployment failed: rolling back to ${back.split('/').pop()}.`, p);
    }
  }
  const head = s.deployments[0];
  // How many tasks each deployment wants: the PRIMARY the service's count (none when the breaker
  // stopped it, none when the service drains); the older ones keep theirs until it completes.
  for (const d of s.deployments) {
    const wanted = s.status === 'DRAINING' ? 0 : d === head ? (d.rolloutState === 'FAILED' ? live(s, d).filter((t) => t.lastStatus === 'RUNNING').length : s.desiredCount) : d.desiredCount;
    const tasks = live(s, d);
    // Too many: the pending ones go first.
    const excess = tasks.sort((a, b) => (a.lastStatus === 'PENDING' ? -1 : 0) - (b.lastStatus === 'PENDING' ? -1 : 0)).slice(0, Math.max(0, tasks.length - wanted));
    for (const t of excess) Object.assign(t, { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedAt: at, stoppedReason: 'Scaling activity initiated by (deployment ' + d.id + ')' });
    for (let n = tasks.length; n < wanted; n++) s.tasks.push(newTask(s, d, cluster, p));
  }
  // Placement, against the cluster's capacity.
  const placed = () => [...cluster.services.values()].reduce((n, x) => n + x.tasks.filter((t) => t.lastStatus !== 'STOPPED' && t.placedAt !== undefined).length, 0);
  let unplaced = 0;
  for (const t of s.tasks) {
    if (t.lastStatus !== 'PENDING' || t.placedAt !== undefined) continue;
    if (cluster.capacity !== undefined && placed() >= cluster.capacity) unplaced++;
    else t.placedAt = at;
  }
  if (unplaced > 0) {
    event(s, at, `${tag} was unable to place a task because no container instance met all of its requirements. The closest matching container-instance has insufficient CPU units available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`, p, true);
  }
  // Completion: every task of the PRIMARY runs; the older deployments are drained.
  if (head && head.rolloutState === 'IN_PROGRESS' && s.status === 'ACTIVE') {
    const tasks = live(s, head);
    if (tasks.length === s.desiredCount && tasks.every((t) => t.lastStatus === 'RUNNING')) {
      head.rolloutState = 'COMPLETED';
      head.rolloutStateReason = `ECS deployment ${head.id} completed.`;
      head.updatedAt = at;
      for (const d of s.deployments.slice(1)) for (const t of live(s, d)) Object.assign(t, { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedAt: at, stoppedReason: 'Scaling activity initiated by (deployment ' + head.id + ')' });
      s.deployments.splice(1);
      s.stableTaskDefinition = head.taskDefinition;
      event(s, at, `${tag} (deployment ${head.id}) deployment completed.`, p);
      event(s, at, `${tag} has reached a steady state.`, p);
    }
  }
  if (s.status === 'DRAINING' && s.tasks.every((t) => t.lastStatus === 'STOPPED')) s.status = 'INACTIVE';
  // Stopped tasks are forgotten after an hour, as DescribeTasks forgets them.
  s.tasks = s.tasks.filter((t) => t.lastStatus !== 'STOPPED' || at - (t.stoppedAt ?? at) < 3_600_000);
}

function newTask(s: EcsService, d: Deployment, cluster: Cluster, p: Progress): EcsTask {
  const n = p.next();
  const id = n.toString(16).padStart(32, '0');
  const arn = p.arn('task', `${cluster.name}/${id}`);
  return { taskArn: arn, arn, service: s.name, deploymentId: d.id, taskDefinitionArn: d.taskDefinition, lastStatus: 'PENDING', desiredStatus: 'RUNNING', ip: `10.0.${(n >> 8) & 255}.${n & 255}` };
}
