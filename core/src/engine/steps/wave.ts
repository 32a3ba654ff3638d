import { AnalysisFailedError, errorMessage } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import type { Amount } from '../../ports/strategy.js';
import { resolveAmount } from '../../strategies/amount.js';
import { withDeadline } from '../deadline.js';
import { withRetry } from '../retry.js';
import type { StageRun } from '../stage-run.js';

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

  const policy = run.session.retryPolicy(run.stage);
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !ctx.signal.aborted) {
      const { unit } = todo[next++] as { unit: string };
      run.changedUnits.add(unit);
      try {
        const limit = run.session.workflow.defaults.stepTimeout;
        await withRetry(policy, ctx.clock, ctx.signal, () =>
          withDeadline(`${run.stage.name}/${unit} (defaults.stepTimeout)`, limit, ctx.clock, ctx.signal, (signal) => fleet.deployUnit(unit, run.version, { ...ctx, signal })),
        );
        if (limits.verify) {
          const health = await fleet.unitHealth(unit, ctx);
          if (!health.healthy) throw new Error(health.message ?? 'unhealthy');
        }
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        run.failedUnits.set(unit, errorMessage(err));
        ctx.log.warn(`${unit}: ${errorMessage(err)}`);
        if (run.failedUnits.size > budget) {
          throw new AnalysisFailedError(
            `failure budget exceeded: ${run.failedUnits.size} unit(s) failed, budget ${budget}: ${[...run.failedUnits]
              .slice(0, 5)
              .map(([u, m]) => `${u}: ${m}`)
              .join('; ')}${run.failedUnits.size > 5 ? '; …' : ''}`,
          );
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
  const failed = run.failedUnits.size;
  return `${done + todo.length} of ${units.length} units on ${run.version} (this wave: ${todo.length}, ${parallel} at a time)${failed ? `; ${failed} failed within the budget of ${budget}` : ''}`;
}
