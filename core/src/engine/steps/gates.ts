import type { StrategyConfig } from '../../definition/schema.js';
import { AnalysisFailedError, ApprovalRejectedError, PauseRequested } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import type { MetricSpec } from '../../ports/strategy.js';
import { choose as chooseStrategy, probesOf, type AutoConfig } from '../../strategies/auto.js';
import { runAnalysis } from '../analysis.js';
import { conditionScope, snapshotFor } from '../conditions.js';
import type { StageRun } from '../stage-run.js';

/*
 * Steps that decide rather than change: waits, approvals, smoke checks, analysis, and the choice
 * of `auto`. A gate without a decision yet pauses the run (PauseRequested); `resume` records the
 * decision in the journal and the same step then reads it.
 */

export async function pause(durationMs: number, ctx: StepContext): Promise<string> {
  await ctx.clock.sleep(durationMs, ctx.signal);
  return `waited ${Math.round(durationMs / 1000)}s`;
}

/** The decision taken at a gate inside the stage, if any; a rejection ends the stage. */
function decided(run: StageRun, gate: string): string | undefined {
  const decision = run.record.decisions?.[gate];
  if (!decision) return undefined;
  const by = `${decision.by ?? 'unknown'}${decision.comment ? ` (${decision.comment})` : ''}`;
  if (decision.status === 'rejected') throw new ApprovalRejectedError(`${gate}: rejected by ${by}`);
  return `approved by ${by}`;
}

export function approval(run: StageRun, stepId: string, message: string | undefined): string {
  const answer = decided(run, stepId);
  if (answer) return answer;
  run.session.emit({
    kind: 'approval.requested',
    stage: run.stage.name,
    gate: stepId,
    approver: 'manual',
    version: run.version,
    environment: run.stage.environment,
    ...(message ? { message } : {}),
  });
  throw new PauseRequested(stepId, message ?? `approve to go on with ${run.stage.name}`);
}

export async function smoke(run: StageRun, probes: string[], ctx: StepContext): Promise<string> {
  const snapshot = await snapshotFor(run.session, run.stage, probes, ctx.signal);
  const failing = Object.entries(snapshot).filter(([, r]) => !r.ok);
  if (failing.length > 0) {
    throw new AnalysisFailedError(`smoke checks failed: ${failing.map(([n, r]) => `${n}: ${r.error ?? `value ${String(r.value)}`}`).join('; ')}`);
  }
  return `smoke checks ok: ${probes.join(', ')}`;
}

export async function analysis(run: StageRun, stepId: string, metrics: MetricSpec[], ctx: StepContext): Promise<string> {
  const answer = decided(run, stepId);
  if (answer) return `inconclusive analysis ${answer}`;
  const result = await runAnalysis(metrics, run.analysisEnv(stepId), ctx.signal);
  switch (result.phase) {
    case 'succeeded':
      return result.message;
    case 'inconclusive':
      throw new PauseRequested(stepId, `analysis inconclusive: ${result.message}; resume --approve to go on, --reject to roll back`);
    default:
      throw new AnalysisFailedError(`analysis ${result.phase}: ${result.message}`);
  }
}

/** `auto`: the first rule that holds picks the strategy (a pure choice); the values behind it are the evidence. */
export async function choose(run: StageRun, ctx: StepContext): Promise<string> {
  const config = run.stage.strategy as AutoConfig;
  const snapshot = await snapshotFor(run.session, run.stage, probesOf(config), ctx.signal);
  const made = chooseStrategy(config, conditionScope(run.session, run.stage, snapshot));
  run.record.chosen = made.chosen;
  run.runtime = run.runtimeFor(made.chosen as StrategyConfig);
  run.session.emit({
    kind: 'decision.made',
    stage: run.stage.name,
    decision: `strategy ${made.chosen.type}`,
    reason: made.reason,
    evidence: { condition: made.condition, probes: snapshot },
  });
  return `chose ${made.chosen.type}: ${made.reason}`;
}
