import {
  ApprovalRejectedError,
  CancelledError,
  DeadlineExceededError,
  errorMessage,
} from '../errors.js';
import type { Stage } from '../definition/schema.js';
import type { StageStatus } from '../model/events.js';
import type { ProbeSnapshot } from '../model/results.js';
import { compileCondition, referencedProbes } from '../util/expression.js';
import { withDeadline } from './deadline.js';
import type { StagePlan } from './plan.js';
import { withRetry } from './retry.js';
import { rollbackStage } from './rollback.js';
import type { RunSession } from './run-session.js';
import { takeSnapshot } from './snapshot.js';
import { runStep } from './steps.js';
import { createApprover, createProbe } from './wiring.js';

/**
 * Runs one stage: its `when` condition, its approval gate, then its strategy's steps under the
 * stage deadline; on any failure, the rollback. Returns the stage's final (or paused) status.
 */
export async function runStage(session: RunSession, plan: StagePlan, runSignal: AbortSignal): Promise<StageStatus> {
  const stage = session.stage(plan.name);
  const record = session.record(plan.name);

  try {
    const gated = await beforeChanges(session, stage, runSignal);
    if (gated) return gated;
  } catch (err) {
    return finish(session, stage.name, 'failed', `${errorMessage(err)}; nothing was changed`);
  }

  record.status = 'running';
  record.startedAt = new Date(session.clock.now()).toISOString();
  session.emit({
    kind: 'stage.started',
    stage: stage.name,
    environment: stage.environment,
    strategy: stage.strategy.type,
    version: record.version,
  });
  // No save here: nothing has changed yet. The first save of a running stage is the one that
  // records a compensation, just before the first change.

  const stageTimeout = stage.timeout ?? session.workflow.defaults.stageTimeout;
  try {
    await withDeadline(`stage ${stage.name}`, stageTimeout, session.clock, runSignal, (signal) =>
      runSteps(session, stage, plan, signal),
    );
    return finish(session, stage.name, 'succeeded');
  } catch (err) {
    return failStage(session, stage, err);
  }
}

/**
 * The part of a stage before anything changes: the `when` condition and the approval gate.
 * Returns a status when the stage ends or pauses here, `undefined` to go on.
 */
async function beforeChanges(session: RunSession, stage: Stage, runSignal: AbortSignal): Promise<StageStatus | undefined> {
  const record = session.record(stage.name);
  if (record.status === 'pending' && (await evaluateWhen(session, stage, runSignal))) {
    return finish(session, stage.name, 'skipped');
  }
  if (runSignal.aborted) return finish(session, stage.name, 'cancelled', 'cancelled before it started');
  if (stage.approval && !record.approval) {
    const gate = `approval-${stage.name}`;
    const ctx = session.stepContext(stage, gate, runSignal, record.version);
    session.emit({ kind: 'approval.requested', stage: stage.name, gate, approver: stage.approval.type });
    const decision = await createApprover(stage.approval, session.deps(stage.environment, ctx.log)).request(
      { gate, stage: stage.name, environment: stage.environment, version: record.version },
      ctx,
    );
    if (decision.status === 'pending') {
      record.status = 'paused';
      record.pausedAt = gate;
      session.emit({
        kind: 'run.paused',
        stage: stage.name,
        gate,
        message: `approve with: rollgate resume --state ${session.store.location} --approve (or --reject)`,
      });
      await session.save();
      return 'paused';
    }
    record.approval = decision;
    session.emit({ kind: 'approval.decided', stage: stage.name, gate, decision });
  }
  delete record.pausedAt;
  if (record.approval?.status === 'rejected') {
    throw new ApprovalRejectedError(
      `rejected by ${record.approval.by ?? 'unknown'}${record.approval.comment ? ` (${record.approval.comment})` : ''}`,
    );
  }
  return undefined;
}

async function runSteps(session: RunSession, stage: Stage, plan: StagePlan, signal: AbortSignal): Promise<void> {
  const record = session.record(stage.name);
  for (const step of plan.steps) {
    const stepRecord = { id: step.id, action: step.action, status: 'running' as const, attempts: 0, startedAt: new Date(session.clock.now()).toISOString() };
    record.steps.push(stepRecord);
    const started = session.clock.now();
    try {
      const message = await withRetry(
        session.retryPolicy(stage),
        session.clock,
        signal,
        (attempt) => {
          stepRecord.attempts = attempt;
          session.emit({ kind: 'step.started', stage: stage.name, step: step.id, action: step.action, attempt });
          return withDeadline(`${stage.name}/${step.id}`, session.workflow.defaults.stepTimeout, session.clock, signal, (s) =>
            runStep(session, stage, step, session.stepContext(stage, step.id, s, record.version)),
          );
        },
        (attempt, delayMs, err) =>
          session.emit({ kind: 'step.retrying', stage: stage.name, step: step.id, attempt, delayMs, error: err.message }),
      );
      Object.assign(stepRecord, { status: 'succeeded', finishedAt: new Date(session.clock.now()).toISOString() });
      session.emit({
        kind: 'step.succeeded',
        stage: stage.name,
        step: step.id,
        durationMs: session.clock.now() - started,
        ...(message ? { message } : {}),
      });
    } catch (err) {
      Object.assign(stepRecord, { status: 'failed', error: errorMessage(err), finishedAt: new Date(session.clock.now()).toISOString() });
      session.emit({
        kind: 'step.failed',
        stage: stage.name,
        step: step.id,
        error: errorMessage(err),
        errorKind: err instanceof Error ? err.name : 'Error',
      });
      throw err;
    }
  }
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
  return finish(session, stage.name, cancelled ? 'cancelled' : 'rolled-back', `${reason}; rolled back`);
}

/** `true` when the stage's `when` condition says skip. */
async function evaluateWhen(session: RunSession, stage: Stage, signal: AbortSignal): Promise<boolean> {
  if (!stage.when) return false;
  const snapshot = await snapshotFor(session, stage, referencedProbes(stage.when), signal);
  const scope = conditionScope(session, stage, snapshot);
  const result = compileCondition(stage.when)(scope);
  const evidence = { condition: stage.when, probes: snapshot, values: { inputs: session.journal.inputs } };
  session.emit({
    kind: 'decision.made',
    stage: stage.name,
    decision: result ? 'run' : 'skip',
    reason: `when: ${stage.when} is ${String(result)}`,
    evidence,
  });
  if (!result) session.emit({ kind: 'stage.skipped', stage: stage.name, reason: `when: ${stage.when} is false`, evidence });
  return !result;
}

export async function snapshotFor(
  session: RunSession,
  stage: Stage,
  names: string[],
  signal: AbortSignal,
): Promise<ProbeSnapshot> {
  if (names.length === 0) return {};
  const ctx = session.stepContext(stage, 'probes', signal, session.record(stage.name).version);
  const deps = session.deps(stage.environment, ctx.log);
  const probes = names.map((name) => {
    const config = session.workflow.probes[name];
    if (!config) throw new Error(`probe ${name} is not declared`);
    return { name, probe: createProbe(config, deps), timeoutMs: config.timeout };
  });
  const snapshot = await takeSnapshot(probes, ctx);
  session.emit({ kind: 'probes.measured', stage: stage.name, snapshot });
  return snapshot;
}

export function conditionScope(session: RunSession, stage: Stage, snapshot: ProbeSnapshot): Record<string, unknown> {
  const probes = Object.fromEntries(
    Object.entries(snapshot).map(([name, r]) => [name, { ...r.details, ok: r.ok, value: r.value, latencyMs: r.latencyMs, error: r.error ?? '' }]),
  );
  return {
    probes,
    inputs: session.journal.inputs,
    vars: session.workflow.environments[stage.environment]?.variables ?? {},
    environment: stage.environment,
    stage: stage.name,
  };
}

async function finish(session: RunSession, stage: string, status: StageStatus, message?: string): Promise<StageStatus> {
  const record = session.record(stage);
  record.status = status;
  record.finishedAt = new Date(session.clock.now()).toISOString();
  if (message) record.message = message;
  session.emit({ kind: 'stage.finished', stage, status, ...(message ? { message } : {}) });
  // A failed write is reported at the end; the next change's own save will refuse to go on.
  await session.saveBestEffort();
  return status;
}
