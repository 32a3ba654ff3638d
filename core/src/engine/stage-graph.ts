import type { StageStatus } from '../model/events.js';
import type { StageRecord } from '../model/journal.js';
import type { ExecutionPlan } from './plan.js';
import { rollbackStage } from './rollback.js';
import type { RunSession } from './run-session.js';
import { runStage } from './stage-runner.js';

/** Stage statuses that stop the run from starting anything new. */
export const BAD: readonly StageStatus[] = ['failed', 'rolled-back', 'manual-intervention-required', 'cancelled'];

/** Runs stages as a graph: parallel where `needs` allow, up to `maxParallelStages`, fail-fast. */
export async function executeStages(session: RunSession, plan: ExecutionPlan, signal: AbortSignal): Promise<void> {
  const limit = session.workflow.defaults.maxParallelStages;
  const running = new Map<string, Promise<StageStatus>>();
  const isGood = (name: string) => {
    const r = session.record(name);
    return r.status === 'succeeded' || (r.status === 'skipped' && !r.blockedBy);
  };
  const startable = (status: StageStatus) => status === 'pending' || status === 'paused';
  // A resumed run that already has a failed stage starts nothing new (fail-fast across processes).
  let failed = Object.values(session.journal.stages).some((r) => BAD.includes(r.status));
  for (;;) {
    for (const stage of plan.stages) {
      const record = session.record(stage.name);
      if (running.has(stage.name) || !startable(record.status)) continue;
      if (record.status === 'paused' && !hasDecision(record)) continue;
      const bad = stage.needs.find((n) => !isGood(n) && !startable(session.record(n).status) && !running.has(n));
      if (bad) {
        blockStage(session, stage.name, bad, `needs ${bad}, which ended ${session.record(bad).status}`);
        continue;
      }
      if (failed || signal.aborted) continue;
      if (!stage.needs.every(isGood) || running.size >= limit) continue;
      running.set(
        stage.name,
        runStage(session, stage, signal).then((status) => {
          running.delete(stage.name);
          if (BAD.includes(status)) failed = true;
          return status;
        }),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  markNotRun(session, failed ? 'not started: an earlier stage failed' : signal.aborted ? 'not started: the run was cancelled' : '');
}

/**
 * A run with a failed stage does not stay paused elsewhere: a paused stage that changed something
 * (a canary waiting at 20%) is rolled back, one that changed nothing is closed. Otherwise a later
 * approval would go on deploying after a failure, and a run would hide its failure behind exit 3.
 */
export async function closePausedAfterFailure(session: RunSession): Promise<void> {
  const failed = Object.entries(session.journal.stages).find(([, r]) => BAD.includes(r.status));
  if (!failed) return;
  for (const [name, record] of Object.entries(session.journal.stages)) {
    if (record.status !== 'paused') continue;
    const reason = `stage ${failed[0]} ended ${failed[1].status}, so this paused stage is not continued`;
    delete record.pausedAt;
    if (record.compensations.some((c) => c.status !== 'done')) {
      const result = await rollbackStage(session, name, reason);
      record.status = result.complete ? 'rolled-back' : 'manual-intervention-required';
    } else {
      record.status = 'skipped';
      record.blockedBy = failed[0];
    }
    record.message = reason;
    session.emit({ kind: 'stage.finished', stage: name, status: record.status, message: reason });
  }
}

/** A paused stage may go on once its gate has a decision. */
function hasDecision(record: StageRecord): boolean {
  const gate = record.pausedAt;
  return gate === undefined || Boolean(record.decisions?.[gate]) || (gate.startsWith('approval-') && Boolean(record.approval));
}

function blockStage(session: RunSession, name: string, need: string, message: string): void {
  const record = session.record(name);
  record.status = 'skipped';
  record.blockedBy = need;
  record.message = message;
  session.emit({ kind: 'stage.skipped', stage: name, reason: message });
}

/**
 * Stages that never started (after a failure, a cancel or a crash) are closed with the reason.
 * They are not a success: `(run)` in `blockedBy` keeps the run from ending `succeeded`.
 */
export function markNotRun(session: RunSession, reason: string): void {
  if (!reason) return;
  for (const [name, record] of Object.entries(session.journal.stages)) {
    if (record.status !== 'pending') continue;
    record.status = 'skipped';
    record.blockedBy = '(run)';
    record.message = reason;
    session.emit({ kind: 'stage.skipped', stage: name, reason });
  }
}
