import { setMaxListeners } from 'node:events';
import { AnalysisFailedError, errorMessage } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import type { Amount } from '../../ports/strategy.js';
import { resolveAmount } from '../../strategies/amount.js';
import { followAbort } from '../../util/abort.js';
import { withDeadline } from '../deadline.js';
import { withRetry } from '../retry.js';
import type { StageRun } from '../stage-run.js';
import { retryPolicyOf } from '../retry.js';

/**
 * One wave of a progressive rollout: bring the fleet up to `upTo` units on the new version. The
 * wave's undos (one per unit, with the version it ran) are written in one journal save before any
 * unit changes. Units are changed at most `maxParallel` at a time and never with more than
 * `maxUnavailable` out of service; a unit that fails to deploy or to become healthy counts against
 * the failure budget, and going over the budget stops the rollout.
 */
export async function wave(run: StageRun, stepId: string, upTo: Amount, ctx: StepContext): Promise<string> {
  const fleet = run.fleet();
  const limits = run.runtime.fleet ?? { maxParallel: { count: 10 }, maxUnavailable: { percent: 10 }, failureBudget: { count: 0 }, verify: true };
  const units = await fleet.units(ctx);
  const goal = resolveAmount(upTo, units.length);
  const budget = resolveAmount(limits.failureBudget, units.length);
  const parallel = Math.max(1, Math.min(resolveAmount(limits.maxParallel, units.length), resolveAmount(limits.maxUnavailable, units.length)));

  const todo: { unit: string; previous: string | undefined }[] = [];
  let done = 0;
  for (const unit of units) {
    if (done + todo.length >= goal) break;
    if (run.changedUnits.has(unit)) {
      done += 1;
      continue;
    }
    const previous = await fleet.unitVersion(unit, ctx);
    if (previous === run.version) {
      done += 1;
      continue;
    }
    todo.push({ unit, previous });
  }
  await run.registerUndos(
    todo.map(({ unit, previous }) => ({
      stepId,
      op: 'unit.revert',
      description: previous ? `put ${previous} back on ${unit}` : `remove ${run.version} from ${unit}`,
      params: { unit, previous: previous ?? null, parallel: parallel },
      key: unit,
    })),
  );

  const policy = retryPolicyOf(run.session.workflow, run.stage);
  // Over the budget, every worker stops: nothing may move forward once the rollback is due.
  const { controller: stop, dispose } = followAbort(ctx.signal);
  setMaxListeners(0, stop.signal); // every worker waits on it
  const unitCtx = { ...ctx, signal: stop.signal };
  let overBudget: Error | undefined;
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !stop.signal.aborted) {
      const { unit } = todo[next++] as { unit: string };
      run.changedUnits.add(unit);
      try {
        const limit = run.session.workflow.defaults.stepTimeout;
        await withRetry(policy, ctx.clock, stop.signal, () =>
          withDeadline(`${run.stage.name}/${unit} (defaults.stepTimeout)`, limit, ctx.clock, stop.signal, (signal) =>
            fleet.deployUnit(unit, run.version, { ...unitCtx, signal }),
          ),
        );
        if (limits.verify) {
          const health = await fleet.unitHealth(unit, unitCtx);
          if (!health.healthy) throw new AnalysisFailedError(health.message ?? 'unhealthy');
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        run.failedUnits.set(unit, errorMessage(err));
        ctx.log.warn(`${unit}: ${errorMessage(err)}`);
        if (run.failedUnits.size > budget) {
          overBudget = new AnalysisFailedError(
            `failure budget exceeded: ${run.failedUnits.size} unit(s) failed, budget ${budget}: ${[...run.failedUnits]
              .slice(0, 5)
              .map(([u, m]) => `${u}: ${m}`)
              .join('; ')}${run.failedUnits.size > 5 ? '; …' : ''}`,
          );
          stop.abort(overBudget);
        }
      }
    }
  };
  // Every worker has stopped before this returns or throws, so the rollback never races a deploy.
  await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
  dispose();
  // Units this wave never reached were not changed: their undo is already done.
  for (const c of run.record.compensations) {
    if (c.op === 'unit.revert' && c.stepId === stepId && c.status === 'pending' && !run.changedUnits.has(c.params.unit as string)) c.status = 'done';
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (overBudget) throw overBudget;
  const failed = run.failedUnits.size;
  return `${done + todo.length} of ${units.length} units on ${run.version} (this wave: ${todo.length}, ${parallel} at a time)${failed ? `; ${failed} failed within the budget of ${budget}` : ''}`;
}
