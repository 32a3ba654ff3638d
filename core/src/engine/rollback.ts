import { errorMessage } from '../errors.js';
import type { CompensationRecord } from '../model/journal.js';
import { compensationOps, type CompensationOpName } from './compensations.js';
import { withDeadline } from './deadline.js';
import { withRetry } from './retry.js';
import type { RunSession } from './run-session.js';
import { retryPolicyOf } from './retry.js';

/** How long one compensation may take per attempt. */
const COMPENSATION_TIMEOUT_MS = 5 * 60_000;

export interface RollbackResult {
  complete: boolean;
  remaining: string[];
}

/**
 * Runs a stage's pending compensations in reverse order, each retried on any error within the
 * stage's retry policy and under its own deadline. Consecutive undos of the same kind that allow
 * it (the units of a progressive wave) run in parallel, up to the limit they carry. It runs under
 * a fresh signal: a cancelled run still rolls back. A compensation that keeps failing is left
 * `failed` with instructions for a human, and the others still run, so as much as possible is
 * undone.
 */
export async function rollbackStage(session: RunSession, stageName: string, reason: string): Promise<RollbackResult> {
  const record = session.record(stageName);
  const todo = record.compensations.filter((c) => c.status !== 'done').reverse();
  session.emit({ kind: 'rollback.started', stage: stageName, reason, steps: todo.length });
  await session.writer.saveBestEffort();
  const remaining: string[] = [];
  const instructions: string[] = [];
  for (const group of batches(todo)) {
    const limit = Math.max(1, Number(group[0]?.params.parallel ?? 1));
    let next = 0;
    const worker = async () => {
      while (next < group.length) {
        const comp = group[next++] as CompensationRecord;
        const failure = await undo(session, stageName, comp);
        if (failure) {
          remaining.push(`${comp.description}: ${failure}`);
          instructions.push(compensationOps[comp.op as CompensationOpName].instructions(session.stage(stageName), comp.params));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, group.length) }, worker));
    await session.writer.saveBestEffort();
  }
  const complete = remaining.length === 0;
  session.emit({ kind: 'rollback.finished', stage: stageName, complete, remaining });
  if (!complete) {
    session.emit({
      kind: 'manual-intervention.required',
      stage: stageName,
      remaining,
      instructions: [...instructions, `then run: rollgate resume --state ${session.store.location} (retries what is left), or fix it by hand`],
    });
  }
  await session.writer.saveBestEffort();
  return { complete, remaining };
}

/** Runs of consecutive compensations with the same op that may run in parallel stay together. */
function batches(todo: CompensationRecord[]): CompensationRecord[][] {
  const out: CompensationRecord[][] = [];
  for (const comp of todo) {
    const last = out.at(-1);
    const parallel = Number(comp.params.parallel ?? 1) > 1;
    if (last && parallel && last[0]?.op === comp.op) last.push(comp);
    else out.push([comp]);
  }
  return out;
}

/** Runs one compensation with retries; returns the error message when it keeps failing. */
async function undo(session: RunSession, stageName: string, comp: CompensationRecord): Promise<string | undefined> {
  const stage = session.stage(stageName);
  const op = compensationOps[comp.op as CompensationOpName];
  const signal = new AbortController().signal;
  const ctx = session.providers.stepContext(stage, `undo-${comp.stepId}`, signal, session.record(stageName).version);
  try {
    await withRetry(
      retryPolicyOf(session.workflow, stage),
      session.clock,
      signal,
      () => {
        comp.attempts += 1;
        return withDeadline(`undo ${comp.description}`, COMPENSATION_TIMEOUT_MS, session.clock, signal, (s) =>
          op.run(stage, comp.params, { target: () => session.providers.target(stage, ctx.log), router: () => session.providers.router(stage, ctx.log) }, { ...ctx, signal: s, observed: new Map() }),
        );
      },
      (attempt, delayMs, err) => session.emit({ kind: 'step.retrying', stage: stageName, step: ctx.step, attempt, delayMs, error: err.message }),
      Math.random,
      // Undoing matters more than the error's class: every failure gets the retry budget.
      () => true,
    );
    comp.status = 'done';
    delete comp.error;
    session.emit({ kind: 'rollback.step', stage: stageName, compensation: comp.description, ok: true });
    return undefined;
  } catch (err) {
    comp.status = 'failed';
    comp.error = errorMessage(err);
    session.emit({ kind: 'rollback.step', stage: stageName, compensation: comp.description, ok: false, error: comp.error });
    return comp.error;
  }
}
