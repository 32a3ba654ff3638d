import { errorMessage } from '../errors.js';
import type { RunStatus } from '../model/events.js';
import { maskDeep } from '../util/mask-deep.js';
import type { ExecutionPlan } from './plan.js';
import { EXIT_AUDIT_INCOMPLETE, EXIT_NOT_RECORDED, exitCodeFor, type ResumeOptions, type RunOptions, type RunOutcome } from './run-options.js';
import type { RunSession } from './run-session.js';
import { closePausedAfterFailure, executeStages } from './stage-graph.js';

/** Runs the plan's stages from wherever the journal stands, then settles the run. */
export async function drive(session: RunSession, plan: ExecutionPlan, opts: RunOptions | ResumeOptions): Promise<RunOutcome> {
  await executeStages(session, plan, opts.signal ?? new AbortController().signal);
  await closePausedAfterFailure(session);
  return finishRun(session, opts);
}

/** The run's status from its stages': the worst one decides. */
function runStatus(session: RunSession, cancelled: boolean): RunStatus {
  const records = Object.values(session.journal.stages);
  const statuses = records.map((r) => r.status);
  if (statuses.includes('manual-intervention-required')) return 'manual-intervention-required';
  if (cancelled || statuses.includes('cancelled')) return 'cancelled';
  if (statuses.includes('paused')) return 'paused';
  if (statuses.includes('rolled-back')) return 'rolled-back';
  if (statuses.includes('failed')) return 'failed';
  // A stage that never ran (the run was interrupted, or a need of it failed) is not a success.
  if (records.some((r) => r.status === 'skipped' && r.blockedBy)) return 'failed';
  return 'succeeded';
}

/**
 * Writes the run's end: its status, the `run.finished` event, the last journal write, the audit
 * trail and notifications. A journal that cannot be written at the end makes the exit code say so
 * (5): the file on disk is behind, and a `resume` of it would act on an outdated state.
 */
export async function finishRun(session: RunSession, opts: RunOptions | ResumeOptions): Promise<RunOutcome> {
  const status = runStatus(session, Boolean(opts.signal?.aborted));
  session.journal.status = status;
  const started = Date.parse(session.journal.createdAt);
  session.emit({ kind: 'run.finished', status, durationMs: session.clock.now() - started, message: summary(session) });
  await session.writer.saveBestEffort();
  let journalError: string | undefined;
  if (session.writer.saveError !== undefined) {
    journalError =
      `the run ${status}, but its journal ${session.store.location} could not be written (${errorMessage(session.writer.saveError)}), ` +
      `so the file does not say so: it shows the run as it was at the last write that worked. ` +
      (status === 'succeeded'
        ? `Do not 'rollgate resume' it (that would roll back what succeeded): delete the file once the disk has room, or keep it aside as a record.`
        : `Free the space (or fix the permissions), then check the target: 'rollgate resume' would act on the older state.`);
    opts.onWarning?.(journalError);
  }
  await session.writer.close();
  const auditIncomplete = session.audit?.auditIncomplete ?? [];
  // Precedence: a rollback left for a person (4), then a journal not written (5), then a success
  // whose audit trail is not whole (6); other failures already fail the job and say what runs.
  const exitCode =
    status === 'manual-intervention-required'
      ? exitCodeFor(status)
      : journalError !== undefined
        ? EXIT_NOT_RECORDED
        : status === 'succeeded' && auditIncomplete.length > 0
          ? EXIT_AUDIT_INCOMPLETE
          : exitCodeFor(status);
  return {
    runId: session.runId,
    status,
    exitCode,
    journal: maskDeep(session.journal, session.bus.mask),
    ...(journalError !== undefined ? { journalError: session.bus.mask(journalError) } : {}),
    auditIncomplete: auditIncomplete.map(session.bus.mask),
  };
}

function summary(session: RunSession): string {
  return Object.entries(session.journal.stages)
    .map(([name, r]) => `${name}: ${r.status}`)
    .join(', ');
}
