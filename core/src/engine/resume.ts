import { JournalError, UsageError } from '../errors.js';
import type { RunJournal } from '../model/journal.js';
import { drive, finishRun } from './finish-run.js';
import { checkBinding, rebuildSecretInputs } from './journal-binding.js';
import { openSession } from './open-session.js';
import { stopOrphanedCommands, type OrphanSeams } from './orphans.js';
import { planRun } from './plan.js';
import { rollbackStage } from './rollback.js';
import type { ResumeOptions, RunOutcome } from './run-options.js';
import { auditKey, createRunClock, prepareSecrets } from './run-setup.js';
import type { RunSession } from './run-session.js';
import { markNotRun } from './stage-graph.js';

/**
 * Continues a run from its journal: after an approval gate, or after the process running it died
 * (stages caught mid-change are rolled back, once the commands it left running are stopped), or
 * after an incomplete rollback (retried). The journal is checked against the workflow first.
 */
export async function resumeRun(opts: ResumeOptions): Promise<RunOutcome> {
  const journal = await opts.store.load();
  if (!journal) throw new UsageError(`no run journal at ${opts.store.location}: pass the --state file that 'rollgate run' wrote`);
  checkResumable(journal, opts);
  const { workflow } = opts.loaded;
  const env = opts.env ?? {};
  const mask = prepareSecrets(workflow, env);
  const inputs = rebuildSecretInputs(journal, env);
  const versions = checkBinding(journal, workflow, inputs, {
    ...(auditKey(workflow, env) ? { key: auditKey(workflow, env) } : {}),
    location: opts.store.location,
    changedWorkflow: journal.workflow.sha256 !== opts.loaded.sha256,
    mask,
  });
  // In memory the run works with the real values; the file keeps them masked.
  journal.inputs = inputs;
  for (const [name, version] of versions) (journal.stages[name] as RunJournal['stages'][string]).version = version;

  const clock = opts.clock ?? createRunClock(workflow, journal.clock?.virtualNow);
  const { session, sinks } = openSession(opts, journal, clock, mask, env);
  await sinks.ready;
  const previous = journal.status;
  journal.status = 'running';
  session.emit({ kind: 'run.started', workflow: journal.workflow.name, context: opts.context, inputs: journal.inputs, resumed: true });

  if (previous === 'paused' && opts.decision) {
    decide(session, opts.decision);
    await session.writer.save();
    return drive(session, planRun(workflow, journal.inputs, journal.selection), opts);
  }
  if (opts.resolved) {
    resolveByHand(session, opts.resolved);
    return finishRun(session, opts);
  }
  await recoverCrashed(session);
  return finishRun(session, opts);
}

/** Refuses, before anything is written, a resume that cannot apply to this journal. */
function checkResumable(journal: RunJournal, opts: ResumeOptions): void {
  const rollingBack = journal.status === 'running' || journal.status === 'manual-intervention-required';
  if (journal.workflow.sha256 !== opts.loaded.sha256 && !(opts.acceptChangedWorkflow && rollingBack)) {
    throw new JournalError(
      `run ${journal.runId} was started from a different version of ${journal.workflow.path} ` +
        `(sha256 ${journal.workflow.sha256.slice(0, 12)}…, now ${opts.loaded.sha256.slice(0, 12)}…); ` +
        'resume with the same workflow file the run started with' +
        (rollingBack ? ', or pass --accept-changed-workflow to finish the rollback with the changed file' : '') +
        '. The journal was left as it is.',
    );
  }
  if (opts.resolved && journal.status !== 'manual-intervention-required') {
    throw new UsageError(`--resolved is for runs that need a manual intervention; run ${journal.runId} is ${journal.status}`);
  }
  if (!['paused', 'running', 'manual-intervention-required'].includes(journal.status)) {
    throw new UsageError(`run ${journal.runId} already ended (${journal.status}); nothing to resume. Start a new run with 'rollgate run'.`);
  }
  if (journal.status === 'paused' && !opts.decision) {
    const paused = Object.entries(journal.stages).filter(([, r]) => r.status === 'paused');
    throw new UsageError(
      `run ${journal.runId} is paused at ${paused.map(([n, r]) => `${n} (${r.pausedAt ?? 'gate'})`).join(', ')}: ` +
        'pass --approve or --reject (with --by NAME and --comment TEXT)',
    );
  }
}

/** Records the decision at every gate the run is paused at; a person decided now, in real time. */
function decide(session: RunSession, given: NonNullable<ResumeOptions['decision']>): void {
  for (const [name, record] of Object.entries(session.journal.stages)) {
    if (record.status !== 'paused') continue;
    const decision = {
      status: given.approve ? ('approved' as const) : ('rejected' as const),
      by: given.by,
      at: new Date().toISOString(),
      ...(given.comment ? { comment: given.comment } : {}),
    };
    const gate = record.pausedAt ?? `approval-${name}`;
    // The stage's own gate keeps its decision in `approval`; gates inside the stage by step.
    if (gate === `approval-${name}`) record.approval = decision;
    else record.decisions = { ...record.decisions, [gate]: decision };
    session.emit({ kind: 'approval.decided', stage: name, gate, decision });
  }
}

/**
 * The process died mid-change, or a rollback was left incomplete: stop what the dead process left
 * running, then undo, never go forward blind. A stage whose command cannot be stopped is not
 * undone (the undo would race it): it needs a person. Stages that never started are not a success.
 */
export async function recoverCrashed(session: RunSession, seams: OrphanSeams = {}): Promise<void> {
  const unstoppable = await stopOrphanedCommands(session, seams);
  for (const [name, record] of Object.entries(session.journal.stages)) {
    if (record.status !== 'running' && record.status !== 'manual-intervention-required') continue;
    const left = unstoppable.get(name);
    if (left) {
      record.status = 'manual-intervention-required';
      record.message = `not rolled back: ${left.join('; ')}`;
      session.emit({
        kind: 'manual-intervention.required',
        stage: name,
        remaining: left,
        instructions: [`stop ${left.join(', ')} by hand`, `then run: rollgate resume --state ${session.store.location} (it rolls the stage back)`],
      });
      session.emit({ kind: 'stage.finished', stage: name, status: record.status, message: record.message });
      continue;
    }
    const reason =
      record.status === 'running'
        ? 'the process running this stage stopped before it finished; undoing what it changed'
        : 'retrying the rollback that was left incomplete';
    const result = await rollbackStage(session, name, reason);
    record.status = result.complete ? 'rolled-back' : 'manual-intervention-required';
    record.message = result.complete ? `${reason}: done` : `rollback incomplete: ${result.remaining.join('; ')}`;
    session.emit({ kind: 'stage.finished', stage: name, status: record.status, message: record.message });
  }
  markNotRun(session, 'not run: the run was interrupted (its process died) before this stage started; start a new run to deploy it');
}

/** Records that a person finished what the rollback left, and closes those stages as rolled back. */
function resolveByHand(session: RunSession, resolved: { by: string; comment: string }): void {
  for (const [name, record] of Object.entries(session.journal.stages)) {
    if (record.status !== 'manual-intervention-required') continue;
    for (const comp of record.compensations.filter((c) => c.status !== 'done')) {
      comp.status = 'done';
      comp.error = `resolved by hand by ${resolved.by}: ${resolved.comment}`;
      session.emit({ kind: 'rollback.step', stage: name, compensation: `${comp.description} (by hand, ${resolved.by}: ${resolved.comment})`, ok: true });
    }
    record.status = 'rolled-back';
    record.message = `rolled back; what was left was fixed by hand by ${resolved.by}: ${resolved.comment}`;
    session.emit({ kind: 'stage.finished', stage: name, status: 'rolled-back', message: record.message });
  }
}
