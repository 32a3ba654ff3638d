import { AnalysisFailedError, ProviderError } from '../errors.js';
import type { Stage } from '../definition/schema.js';
import type { StrategyStep } from '../ports/strategy.js';
import type { StepContext } from '../ports/step-context.js';
import type { RunSession } from './run-session.js';
import { createTarget } from './wiring.js';

/**
 * What each strategy step does. A step that changes infrastructure registers its compensation in
 * the journal, and saves it, before it acts: a crash in the middle still leaves the undo on disk.
 */
type StepHandler<S extends StrategyStep> = (session: RunSession, stage: Stage, step: S, ctx: StepContext) => Promise<string | undefined>;

const deploy: StepHandler<Extract<StrategyStep, { action: 'deploy' }>> = async (session, stage, step, ctx) => {
  const record = session.record(stage.name);
  const target = createTarget(stage.target, session.deps(stage.environment, ctx.log));
  const previous = await target.current(ctx);
  if (previous?.version === record.version) {
    session.emit({
      kind: 'decision.made',
      stage: stage.name,
      decision: 're-deploy',
      reason: `${record.version} already runs; deploying again is a no-op for an idempotent target`,
      evidence: { values: { running: previous.version, requested: record.version } },
    });
  }
  record.compensations.push({
    id: `${step.id}-${record.compensations.length + 1}`,
    stepId: step.id,
    description: previous ? `revert ${stage.name} to ${previous.version}` : `remove ${record.version} from ${stage.name} (first deploy)`,
    op: 'target.revert',
    params: { previous: previous ?? null, version: record.version },
    status: 'pending',
    attempts: 0,
  });
  try {
    await session.save();
  } catch (err) {
    // Without its undo on disk the change must not happen; nothing was changed, so nothing to undo.
    record.compensations.pop();
    throw err;
  }
  await target.deploy(record.version, ctx);
  return previous ? `${previous.version} -> ${record.version}` : `${record.version} (first deploy)`;
};

const verify: StepHandler<Extract<StrategyStep, { action: 'verify' }>> = async (session, stage, _step, ctx) => {
  const target = createTarget(stage.target, session.deps(stage.environment, ctx.log));
  const started = ctx.clock.now();
  let failuresWhileUp = 0;
  for (;;) {
    let last: string;
    try {
      const health = await target.health(ctx);
      if (health.healthy) return `healthy (${health.ready}/${health.total} ready)`;
      last = `${health.message ?? 'not healthy'} (${health.ready}/${health.total} ready)`;
      // Every unit is up yet the target is unhealthy: the version is bad, not slow to start.
      failuresWhileUp = health.ready === health.total ? failuresWhileUp + 1 : 0;
      if (failuresWhileUp >= stage.verify.failureThreshold) {
        throw new AnalysisFailedError(`${stage.name}: unhealthy in ${failuresWhileUp} checks in a row with every unit up: ${last}`);
      }
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.retryable) throw err;
      last = `health check errored: ${err.message}`;
    }
    if (ctx.clock.now() - started + stage.verify.interval > stage.verify.timeout) {
      throw new AnalysisFailedError(`${stage.name}: not healthy after ${Math.round(stage.verify.timeout / 1000)}s: ${last}`);
    }
    ctx.log.info(`waiting for health: ${last}`);
    await ctx.clock.sleep(stage.verify.interval, ctx.signal);
  }
};

const pause: StepHandler<Extract<StrategyStep, { action: 'pause' }>> = async (_session, _stage, step, ctx) => {
  await ctx.clock.sleep(step.durationMs, ctx.signal);
  return `waited ${Math.round(step.durationMs / 1000)}s`;
};

export function runStep(session: RunSession, stage: Stage, step: StrategyStep, ctx: StepContext): Promise<string | undefined> {
  switch (step.action) {
    case 'deploy':
      return deploy(session, stage, step, ctx);
    case 'verify':
      return verify(session, stage, step, ctx);
    case 'pause':
      return pause(session, stage, step, ctx);
  }
}
