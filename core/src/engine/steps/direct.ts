import type { StepContext } from '../../ports/step-context.js';
import type { StageRun } from '../stage-run.js';
import { pollHealth } from './health.js';

/** `deploy`: the whole target to the new version; its undo puts the previous version back. */
export async function deploy(run: StageRun, stepId: string, ctx: StepContext): Promise<string> {
  const previous = await run.target.current(ctx);
  if (previous?.version === run.version) {
    run.session.emit({
      kind: 'decision.made',
      stage: run.stage.name,
      decision: 're-deploy',
      reason: `${run.version} already runs; deploying again is a no-op for an idempotent target`,
      evidence: { values: { running: previous.version, requested: run.version } },
    });
  }
  const unknown = !previous && run.target.knowsCurrent === false;
  await run.withUndo(
    {
      stepId,
      op: 'target.revert',
      description: previous
        ? `revert ${run.stage.name} to ${previous.version}`
        : unknown
          ? `run the revert command of ${run.stage.name} (the version before is unknown: the target has no \`current\` command)`
          : `remove ${run.version} from ${run.stage.name} (first deploy)`,
      params: { previous: previous ?? null, version: run.version, ...(unknown ? { unknownPrevious: true } : {}) },
    },
    () => run.target.deploy(run.version, ctx),
  );
  run.watch = 'target';
  return previous ? `${previous.version} -> ${run.version}` : `${run.version} (first deploy)`;
}

/** `verify`: the target's health until healthy. */
export function verify(run: StageRun, ctx: StepContext): Promise<string> {
  return pollHealth(run.stage, ctx, 'target', () => run.target.health(ctx));
}
