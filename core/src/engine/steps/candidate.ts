import { InternalError } from '../../errors.js';
import type { DeployedState } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import type { Amount } from '../../ports/strategy.js';
import { resolveAmount } from '../../strategies/amount.js';
import type { StageRun } from '../stage-run.js';
import { pollHealth } from './health.js';
import { verifyWeight } from './verify-weight.js';

/*
 * Steps of strategies that run a candidate beside the stable version (canary, blue-green). Each
 * records its undo before it acts: remove the candidate, send traffic back, or put the old stable
 * version back after a promotion.
 */

/** What runs now, read once per stage: the first deploy and the re-deploy cases depend on it. */
export async function stableNow(run: StageRun, ctx: StepContext): Promise<DeployedState | undefined> {
  return run.target.current(ctx);
}

export async function deployCandidate(run: StageRun, stepId: string, replicas: Amount | 'full', ctx: StepContext): Promise<string> {
  const candidates = run.candidates();
  const stable = await stableNow(run, ctx);
  const full = await candidates.fullScale(ctx);
  const count = replicas === 'full' ? full : Math.max(1, resolveAmount(replicas, full));
  await run.withUndo(
    {
      stepId,
      op: 'candidate.remove',
      description: `send all traffic back to ${stable?.version ?? 'the stable version'} and remove ${run.version} from ${run.stage.name}`,
      params: { previous: stable ?? null, delayMs: run.runtime.abortScaleDownDelayMs ?? 0, version: run.version },
    },
    () => candidates.deployCandidate(run.version, count, ctx),
  );
  run.watch = 'candidate';
  const preview = run.runtime.previewUrl ? `; preview at ${run.runtime.previewUrl}` : '';
  return `${run.version} started beside ${stable?.version ?? 'nothing'} with ${count} replica(s)${preview}`;
}

export function verifyCandidate(run: StageRun, ctx: StepContext): Promise<string> {
  return pollHealth(run.stage, ctx, 'new version', () => run.candidates().candidateHealth(ctx));
}

/** Moves traffic through the router, or approximates the weight by replica counts without one. */
export async function setWeight(run: StageRun, stepId: string, weight: number, ctx: StepContext): Promise<string> {
  const from = run.weight;
  if (run.router) {
    await run.registerUndo(stepId, 'router.reset', `send all traffic of ${run.stage.name} back to the stable version`, {}, 'router');
    await run.router.setWeights({ canary: weight }, ctx);
    run.setWeight(weight);
    await verifyWeight(run.stage, run.router, weight, ctx);
    run.session.emit({ kind: 'weight.changed', stage: run.stage.name, from, to: weight });
    return `${weight}% of traffic to ${run.version} (the router reports it)`;
  }
  const candidates = run.candidates();
  const full = await candidates.fullScale(ctx);
  // Rounded to the nearest replica, at least one while the weight is above zero.
  const candidate = weight === 0 ? 0 : Math.min(full, Math.max(1, Math.round((full * weight) / 100)));
  const effective = full === 0 ? 0 : Math.round((candidate / full) * 1000) / 10;
  await run.registerUndo(stepId, 'candidate.restore-scale', `scale the stable version of ${run.stage.name} back to ${full} replicas`, { stable: full }, 'scale');
  await candidates.scale({ stable: full - candidate, candidate }, ctx);
  run.setWeight(weight);
  const note = `no router: ${weight}% approximated by ${candidate} of ${full} replicas (${effective}%)`;
  run.session.emit({ kind: 'weight.changed', stage: run.stage.name, from, to: weight, note });
  return note;
}

export async function setCandidateScale(run: StageRun, replicas: Amount, ctx: StepContext): Promise<string> {
  const candidates = run.candidates();
  const count = resolveAmount(replicas, await candidates.fullScale(ctx));
  await candidates.deployCandidate(run.version, count, ctx);
  return `${run.version} scaled to ${count} replica(s)`;
}

/** The candidate becomes stable; afterwards, undoing means putting the old version back. */
export async function promote(run: StageRun, stepId: string, ctx: StepContext): Promise<string> {
  const started = run.record.compensations.find((c) => c.op === 'candidate.remove');
  // Every plan starts the candidate before it promotes it.
  if (!started) throw new InternalError(`stage ${run.stage.name}: nothing to promote (no candidate was started)`);
  const previous = started.params.previous as DeployedState | null;
  await run.registerUndo(
    stepId,
    'target.revert',
    previous ? `revert ${run.stage.name} to ${previous.version}` : `remove ${run.version} from ${run.stage.name}`,
    { previous, version: run.version },
  );
  // While the stable replicas restart on the new version there is no candidate to watch.
  run.watch = 'none';
  const candidates = run.candidates();
  await candidates.promote(ctx);
  if (run.router) await run.router.finalize(ctx);
  // Traffic has left the candidate: only now may it go (a target whose routing selects it).
  await candidates.retirePromoted?.(ctx);
  run.watch = 'target';
  return `${run.version} is the stable version${previous ? `; ${previous.version} removed` : ''}`;
}
