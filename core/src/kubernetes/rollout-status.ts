/*
 * Whether a Deployment's rollout is done, read from its status exactly as `kubectl rollout status`
 * reads it (kubectl's pkg/polymorphichelpers/rollout_status.go): nothing counts until the
 * controller has observed the latest generation; then a Progressing condition with reason
 * ProgressDeadlineExceeded is a failure, and the rollout waits while fewer replicas are updated
 * than wanted, while old replicas are still terminating, and while updated ones are not available.
 */

export type RolloutStatus = { state: 'done'; message: string } | { state: 'waiting'; message: string } | { state: 'failed'; message: string };

interface DeploymentLike {
  metadata?: { name?: string; generation?: unknown };
  spec?: { replicas?: unknown };
  status?: {
    observedGeneration?: unknown;
    replicas?: unknown;
    updatedReplicas?: unknown;
    availableReplicas?: unknown;
    conditions?: Array<{ type?: unknown; reason?: unknown; message?: unknown }>;
  };
}

const count = (n: unknown) => (typeof n === 'number' ? n : 0);

export function rolloutStatus(deployment: DeploymentLike): RolloutStatus {
  const name = deployment.metadata?.name ?? 'deployment';
  const status = deployment.status ?? {};
  const generation = count(deployment.metadata?.generation);
  if (generation > count(status.observedGeneration)) return { state: 'waiting', message: `waiting for the deployment "${name}" spec update to be observed` };
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { state: 'failed', message: `deployment "${name}" exceeded its progress deadline${typeof progressing.message === 'string' ? ` (${progressing.message})` : ''}` };
  }
  const wanted = deployment.spec?.replicas === undefined ? 1 : count(deployment.spec.replicas);
  const updated = count(status.updatedReplicas);
  const replicas = count(status.replicas);
  const available = count(status.availableReplicas);
  if (updated < wanted) return { state: 'waiting', message: `${updated} of ${wanted} new replicas of "${name}" updated` };
  if (replicas > updated) return { state: 'waiting', message: `${replicas - updated} old replicas of "${name}" pending termination` };
  if (available < updated) return { state: 'waiting', message: `${available} of ${updated} updated replicas of "${name}" available` };
  return { state: 'done', message: `deployment "${name}" successfully rolled out` };
}
