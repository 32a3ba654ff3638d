import { errorMessage } from '../errors.js';
import type { CompensationRecord } from '../model/journal.js';
import { compensationOps, type CompensationOpName } from './compensations.js';
import { withDeadline } from './deadline.js';
import { withRetry } from './retry.js';
import type { RunSession } from './run-session.js';

/** How long one compensation may take per attempt. */
const COMPENSATION_TIMEOUT_MS = 5 * 60_000;

export interface RollbackResult {
  complete: boolean;
  remaining: string[];
}

/**
 * Runs a stage's pending compensations in reverse order, each retried on any error within the
 * stage's retry policy and under its own deadline. It runs under a fresh signal: a cancelled run still rolls
 * back. A compensation that keeps failing is left `failed` with instructions for a human, and the
 * later (earlier-registered) ones still run, so as much as possible is undone.
 */
export async function rollbackStage(session: RunSession, stageName: string, reason: string): Promise<RollbackResult> {
  const stage = session.stage(stageName);
  const record = session.record(stageName);
  const todo = record.compensations.filter((c) => c.status !== 'done').reverse();
  session.emit({ kind: 'rollback.started', stage: stageName, reason, steps: todo.length });
  await session.saveBestEffort();
  const remaining: string[] = [];
  const instructions: string[] = [];
  for (const comp of todo) {
    const op = compensationOps[comp.op as CompensationOpName];
    const signal = new AbortController().signal;
    const ctx = session.stepContext(stage, `undo-${comp.stepId}`, signal, record.version);
    try {
      await withRetry(
        session.retryPolicy(stage),
        session.clock,
        signal,
        () => {
          comp.attempts += 1;
          return withDeadline(`undo ${comp.description}`, COMPENSATION_TIMEOUT_MS, session.clock, signal, (s) =>
            op.run(stage, comp.params, session.deps(stage.environment, ctx.log), { ...ctx, signal: s }),
          );
        },
        (attempt, delayMs, err) =>
          session.emit({ kind: 'step.retrying', stage: stageName, step: ctx.step, attempt, delayMs, error: err.message }),
        Math.random,
        // Undoing matters more than the error's class: every failure gets the retry budget.
        () => true,
      );
      markDone(comp);
      session.emit({ kind: 'rollback.step', stage: stageName, compensation: comp.description, ok: true });
    } catch (err) {
      comp.status = 'failed';
      comp.error = errorMessage(err);
      remaining.push(`${comp.description}: ${comp.error}`);
      instructions.push(op.instructions(stage, comp.params));
      session.emit({ kind: 'rollback.step', stage: stageName, compensation: comp.description, ok: false, error: comp.error });
    }
    await session.saveBestEffort();
  }
  const complete = remaining.length === 0;
  session.emit({ kind: 'rollback.finished', stage: stageName, complete, remaining });
  if (!complete) {
    session.emit({
      kind: 'manual-intervention.required',
      stage: stageName,
      remaining,
      instructions: [
        ...instructions,
        `then run: rollgate resume --state ${session.store.location} (retries what is left), or fix by hand and record it`,
      ],
    });
  }
  await session.saveBestEffort();
  return { complete, remaining };
}

function markDone(comp: CompensationRecord): void {
  comp.status = 'done';
  delete comp.error;
}
