import type { Stage } from '../definition/schema.js';
import {
  ApprovalRejectedError,
  CancelledError,
  DeadlineExceededError,
  errorMessage,
  PauseRequested,
  StepDidNotStopError,
  PreflightFailedError,
} from '../errors.js';
import type { StageStatus } from '../model/events.js';
import type { StepRecord } from '../model/journal.js';
import type { StrategyStep } from '../ports/strategy.js';
import { followAbort } from '../util/abort.js';
import { ExpressionError } from '../util/expression.js';
import { compileCondition, referencedProbes } from '../util/expression.js';
import { conditionScope, snapshotFor } from './conditions.js';
import { withDeadline } from './deadline.js';
import { startMonitor } from './monitor.js';
import type { StagePlan } from './plan.js';
import { withRetry } from './retry.js';
import { rollbackStage } from './rollback.js';
import type { RunSession } from './run-session.js';
import { StageRun } from './stage-run.js';
import { runStep } from './steps/index.js';
import { waitForCondition } from './wait-for.js';
import { retryPolicyOf } from './retry.js';

/**
 * Runs one stage: its `when` condition, its approval gate and pre-flight checks (nothing has
 * changed yet), then its strategy's steps under the stage deadline with the monitor watching; on
 * any failure, the rollback. Returns the stage's final status, or `paused` at a gate.
 */
export async function runStage(session: RunSession, plan: StagePlan, runSignal: AbortSignal): Promise<StageStatus> {
  const stage = session.stage(plan.name);
  const record = session.record(plan.name);
  const resumedMidStage = record.status === 'paused' && record.steps.length > 0;
  const gateDecision = resumedMidStage && record.pausedAt ? record.decisions?.[record.pausedAt] : undefined;

  if (!resumedMidStage) {
    try {
      const gated = await beforeChanges(session, stage, runSignal);
      if (gated) return gated;
    } catch (err) {
      return finish(session, stage.name, 'failed', `${errorMessage(err)}; nothing was changed`);
    }
  }

  let run: StageRun;
  try {
    run = new StageRun(session, stage);
  } catch (err) {
    return finish(session, stage.name, 'failed', `${errorMessage(err)}; nothing was changed`);
  }
  if (resumedMidStage) run.restoreProgress();
  record.status = 'running';
  delete record.pausedAt;
  record.startedAt ??= new Date(session.clock.now()).toISOString();
  const url = session.workflow.environments[stage.environment]?.url;
  session.emit({
    kind: 'stage.started',
    stage: stage.name,
    environment: stage.environment,
    strategy: run.strategyConfig().type,
    version: record.version,
    steps: run.plan().length,
    ...(url ? { url } : {}),
  });
  // No save here: nothing has changed yet. The first save of a running stage is the one that
  // records an undo, just before the first change.

  const stageTimeout = stage.timeout ?? session.workflow.defaults.stageTimeout;
  const { controller: stageController, dispose } = followAbort(runSignal);
  const monitor = startMonitor(run, (err) => stageController.abort(err));
  try {
    // A rejection at a gate inside the stage (an inconclusive analysis) rolls back what it changed.
    if (gateDecision?.status === 'rejected') throw new ApprovalRejectedError(`rejected by ${gateDecision.by ?? 'unknown'}${gateDecision.comment ? ` (${gateDecision.comment})` : ''}`);
    await withDeadline(`stage ${stage.name} (${stage.timeout ? 'its timeout' : 'defaults.stageTimeout'})`, stageTimeout, session.clock, stageController.signal, (signal) =>
      runSteps(run, signal),
    );
    monitor.stop();
    return finish(session, stage.name, 'succeeded');
  } catch (err) {
    monitor.stop();
    if (err instanceof PauseRequested) return pauseAt(session, stage.name, err.gate, err.message);
    return failStage(session, stage, err);
  } finally {
    dispose();
  }
}

/**
 * The strategy's steps in order; steps that succeeded before a pause are not run again. `auto`
 * chooses first (a step of its own, recorded like any other); then the facts the plan may depend
 * on are read, and the plan they give runs.
 */
async function runSteps(run: StageRun, signal: AbortSignal): Promise<void> {
  const { stage, record } = run;
  const done = (id: string) => record.steps.some((s) => s.id === id && s.status === 'succeeded');
  const choice = run.plan().find((s) => s.action === 'choose');
  if (choice && !done(choice.id)) await runOne(run, choice, signal);
  await run.establishFacts(signal);
  for (const step of run.plan()) {
    if (run.pauseRequest) throw new PauseRequested(`analysis-${stage.name}`, run.pauseRequest);
    if (done(step.id)) continue;
    await runOne(run, step, signal);
  }
}

async function runOne(run: StageRun, step: StrategyStep, signal: AbortSignal): Promise<void> {
  const { session, stage, record } = run;
  const stepRecord: StepRecord = record.steps.find((s) => s.id === step.id) ?? { id: step.id, action: step.action, status: 'running', attempts: 0 };
  if (!record.steps.includes(stepRecord)) record.steps.push(stepRecord);
  Object.assign(stepRecord, { status: 'running', startedAt: new Date(session.clock.now()).toISOString() });
  const started = session.clock.now();
  let carried = run.takePlanObservations();
  const ctxFor = (signal: AbortSignal) => {
    const ctx = run.ctx(step.id, signal, carried);
    carried = undefined;
    return ctx;
  };
  try {
    // A journal write failed earlier: nothing may change until the journal can record it.
    await session.writer.ensureRecorded();
    const message = await withRetry(
      retryPolicyOf(session.workflow, stage),
      session.clock,
      signal,
      (attempt) => {
        stepRecord.attempts += 1;
        session.emit({ kind: 'step.started', stage: stage.name, step: step.id, action: step.action, attempt, index: run.plan().findIndex((s) => s.id === step.id) + 1 });
        // A wave over thousands of units may take longer than any one step: each unit has the step
        // deadline instead (see steps/wave.ts), and the stage deadline bounds the whole.
        if (step.action === 'wave') return runStep(run, step, ctxFor(signal));
        return withDeadline(`${stage.name}/${step.id} (defaults.stepTimeout)`, session.workflow.defaults.stepTimeout, session.clock, signal, (s) =>
          runStep(run, step, ctxFor(s)),
        );
      },
      (attempt, delayMs, err) => session.emit({ kind: 'step.retrying', stage: stage.name, step: step.id, attempt, delayMs, error: err.message }),
    );
    Object.assign(stepRecord, { status: 'succeeded', finishedAt: new Date(session.clock.now()).toISOString() });
    session.emit({ kind: 'step.succeeded', stage: stage.name, step: step.id, durationMs: session.clock.now() - started, message });
  } catch (err) {
    if (err instanceof PauseRequested) {
      stepRecord.status = 'pending';
      throw err;
    }
    Object.assign(stepRecord, { status: 'failed', error: errorMessage(err), finishedAt: new Date(session.clock.now()).toISOString() });
    session.emit({ kind: 'step.failed', stage: stage.name, step: step.id, error: errorMessage(err), errorKind: err instanceof Error ? err.name : 'Error' });
    throw err;
  }
}

/**
 * The part of a stage before anything changes: `when`, the approval gate, the pre-flight checks.
 * Returns a status when the stage ends or pauses here, `undefined` to go on.
 */
async function beforeChanges(session: RunSession, stage: Stage, runSignal: AbortSignal): Promise<StageStatus | undefined> {
  const record = session.record(stage.name);
  // Checked again when a paused stage resumes: the infrastructure may have changed while it waited.
  if ((record.status === 'pending' || record.status === 'paused') && (await evaluateWhen(session, stage, runSignal))) {
    return finish(session, stage.name, 'skipped');
  }
  if (runSignal.aborted) return finish(session, stage.name, 'cancelled', 'cancelled before it started');
  if (stage.approval && !record.approval) {
    const gate = `approval-${stage.name}`;
    const ctx = session.providers.stepContext(stage, gate, runSignal, record.version);
    const message = 'message' in stage.approval ? stage.approval.message : undefined;
    session.emit({
      kind: 'approval.requested',
      stage: stage.name,
      gate,
      approver: stage.approval.type,
      version: record.version,
      environment: stage.environment,
      ...(message ? { message } : {}),
    });
    const decision = await session.providers.approver(stage, ctx.log).request(
      { gate, stage: stage.name, environment: stage.environment, version: record.version, ...(message ? { message } : {}) },
      ctx,
    );
    if (decision.status === 'pending') {
      return pauseAt(session, stage.name, gate, `approve ${stage.name} (${record.version} to ${stage.environment})${message ? `: ${message}` : ''}`);
    }
    record.approval = decision;
    session.emit({ kind: 'approval.decided', stage: stage.name, gate, decision });
  }
  if (record.approval?.status === 'rejected') {
    throw new ApprovalRejectedError(`rejected by ${record.approval.by ?? 'unknown'}${record.approval.comment ? ` (${record.approval.comment})` : ''}`);
  }
  await waitForCondition(session, stage, runSignal);
  await preflight(session, stage, runSignal);
  return undefined;
}

/** Pre-flight checks: every one must hold before the first change (capacity, schema, …). */
async function preflight(session: RunSession, stage: Stage, signal: AbortSignal): Promise<void> {
  if (stage.preflight.length === 0) return;
  const snapshot = await snapshotFor(session, stage, [...new Set(stage.preflight.flatMap((c) => referencedProbes(c.check)))], signal);
  const scope = conditionScope(session, stage, snapshot);
  for (const check of stage.preflight) {
    const holds = compileCondition(check.check)(scope);
    session.emit({
      kind: 'decision.made',
      stage: stage.name,
      decision: holds ? 'pre-flight passed' : 'pre-flight failed',
      reason: `${check.check} is ${String(holds)}${check.message && !holds ? `: ${check.message}` : ''}`,
      evidence: { condition: check.check, probes: snapshot },
    });
    if (!holds) throw new PreflightFailedError(`pre-flight check failed: ${check.check}${check.message ? ` (${check.message})` : ''}`);
  }
}

async function pauseAt(session: RunSession, stage: string, gate: string, message: string): Promise<StageStatus> {
  const record = session.record(stage);
  record.status = 'paused';
  record.pausedAt = gate;
  session.emit({ kind: 'run.paused', stage, gate, message: `${message}: rollgate resume --state ${session.store.location} --approve (or --reject)` });
  await session.writer.save();
  return 'paused';
}

/** Rolls back what the stage changed and settles its status. */
async function failStage(session: RunSession, stage: Stage, err: unknown): Promise<StageStatus> {
  const cancelled = err instanceof CancelledError;
  const reason = err instanceof DeadlineExceededError ? `deadline passed: ${err.message}` : errorMessage(err);
  const record = session.record(stage.name);
  if (!record.compensations.some((c) => c.status !== 'done')) {
    return finish(session, stage.name, cancelled ? 'cancelled' : 'failed', `${reason}; nothing had been changed`);
  }
  const result = await rollbackStage(session, stage.name, reason);
  if (!result.complete) return finish(session, stage.name, 'manual-intervention-required', reason);
  // The step kept running after it was cancelled: the undo ran, but the step may have changed
  // things after it. A person must check.
  if (err instanceof StepDidNotStopError) return finish(session, stage.name, 'manual-intervention-required', `${reason}; rolled back, but check the target by hand`);
  return finish(session, stage.name, cancelled ? 'cancelled' : 'rolled-back', `${reason}; rolled back`);
}

/** `true` when the stage's `when` condition says skip. */
async function evaluateWhen(session: RunSession, stage: Stage, signal: AbortSignal): Promise<boolean> {
  if (!stage.when) return false;
  const snapshot = await snapshotFor(session, stage, referencedProbes(stage.when), signal);
  let result: boolean;
  try {
    result = compileCondition(stage.when)(conditionScope(session, stage, snapshot));
  } catch (err) {
    throw new ExpressionError(`${errorMessage(err)}${probeTrouble(snapshot)}`);
  }
  const evidence = { condition: stage.when, probes: snapshot, values: { inputs: session.journal.inputs } };
  session.emit({ kind: 'decision.made', stage: stage.name, decision: result ? 'run' : 'skip', reason: `when: ${stage.when} is ${String(result)}`, evidence });
  if (!result) session.emit({ kind: 'stage.skipped', stage: stage.name, reason: `when: ${stage.when} is false`, evidence });
  return !result;
}

async function finish(session: RunSession, stage: string, status: StageStatus, message?: string): Promise<StageStatus> {
  const record = session.record(stage);
  record.status = status;
  record.finishedAt = new Date(session.clock.now()).toISOString();
  if (message) record.message = message;
  session.emit({ kind: 'stage.finished', stage, status, ...(message ? { message } : {}) });
  // A failed write is reported at the end; the next change's own save will refuse to go on.
  await session.writer.saveBestEffort();
  return status;
}

/** Says which probes behind a failed condition did not answer, and how to guard against it. */
function probeTrouble(snapshot: Record<string, { ok: boolean; error?: string }>): string {
  const failing = Object.entries(snapshot).filter(([, r]) => !r.ok);
  if (failing.length === 0) return '';
  return `; probes it reads that failed: ${failing.map(([n, r]) => `${n} (${r.error ?? 'not ok'})`).join(', ')}. Guard with probes.NAME.ok && … to decide what a failed probe means`;
}
