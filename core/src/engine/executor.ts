import { randomBytes } from 'node:crypto';
import type { LoadedWorkflow } from '../definition/load.js';
import { errorMessage, JournalError, UsageError } from '../errors.js';
import type { RunStatus, StageStatus } from '../model/events.js';
import { JOURNAL_FORMAT, type RunJournal, type StageRecord } from '../model/journal.js';
import type { RunContext } from '../model/run-context.js';
import type { Clock } from '../ports/clock.js';
import type { RunStore } from '../ports/run-store.js';
import type { FailureSpec } from '../sim/config.js';
import { maskDeep } from '../util/mask-deep.js';
import { EventBus, type Subscriber } from './event-bus.js';
import { resolveInputs } from './inputs.js';
import { planRun, type ExecutionPlan, type Selection } from './plan.js';
import { createRunClock, prepareSecrets } from './run-setup.js';
import { rollbackStage } from './rollback.js';
import { RunSession } from './run-session.js';
import { runStage } from './stage-runner.js';
import { attachSinks } from './sinks.js';

export interface RunOptions {
  loaded: LoadedWorkflow;
  store: RunStore;
  context: RunContext;
  inputs?: Record<string, string>;
  selection?: Selection;
  /** The runner's environment: commands inherit it and `*Env` secrets are read from it. */
  env?: Record<string, string>;
  /** Aborting it cancels the run: the step in flight stops and its stage rolls back. */
  signal?: AbortSignal;
  subscribers?: Subscriber[];
  /** Overrides the clock the workflow asks for (tests). */
  clock?: Clock;
  /** Extra failures to inject into the simulated infrastructure (`--scenario`). */
  scenario?: FailureSpec[];
  runId?: string;
  /** Called with problems that must not stop the run (a notifier or subscriber failing). */
  onWarning?: (message: string) => void;
  /** Where the `console` notifier writes (the job log); silent by default. */
  onNotice?: (message: string) => void;
}

export interface ResumeOptions extends Omit<RunOptions, 'inputs' | 'selection' | 'runId'> {
  /** The decision for a run paused at an approval gate. */
  decision?: { approve: boolean; by: string; comment?: string };
  /** After a manual intervention: what was left was fixed by hand. */
  resolved?: { by: string; comment: string };
  /** Finish a rollback although the workflow file changed (a fixed undo command). */
  acceptChangedWorkflow?: boolean;
}

export interface RunOutcome {
  runId: string;
  status: RunStatus;
  exitCode: number;
  journal: RunJournal;
}

/** The CLI's exit codes are part of the interface. */
export function exitCodeFor(status: RunStatus): number {
  switch (status) {
    case 'succeeded':
      return 0;
    case 'failed':
    case 'rolled-back':
      return 1;
    case 'paused':
      return 3;
    case 'manual-intervention-required':
      return 4;
    case 'cancelled':
      return 130;
    case 'running':
      return 70;
  }
}

/** Starts a new run of a workflow. Refuses to overwrite the journal of a run still in progress. */
export async function runWorkflow(opts: RunOptions): Promise<RunOutcome> {
  const { workflow } = opts.loaded;
  const inputs = resolveInputs(workflow, opts.inputs ?? {});
  const plan = planRun(workflow, inputs, opts.selection);
  const existing = await opts.store.load();
  if (existing && (existing.status === 'paused' || existing.status === 'running' || existing.status === 'manual-intervention-required')) {
    throw new UsageError(
      `${opts.store.location} holds run ${existing.runId}, which is ${existing.status}; ` +
        `finish it with 'rollgate resume --state ${opts.store.location}', or pass another --state path`,
    );
  }
  const env = opts.env ?? {};
  const mask = prepareSecrets(workflow, env);
  const clock = opts.clock ?? createRunClock(workflow);
  const runId = opts.runId ?? newRunId(workflow.name, clock.now());
  const now = new Date(clock.now()).toISOString();
  const journal: RunJournal = {
    format: JOURNAL_FORMAT,
    runId,
    workflow: { name: workflow.name, path: opts.loaded.path, sha256: opts.loaded.sha256 },
    context: opts.context,
    inputs,
    selection: { ...opts.selection },
    status: 'running',
    createdAt: now,
    updatedAt: now,
    seq: 0,
    stages: Object.fromEntries(
      plan.stages.map((s) => [s.name, { status: 'pending', environment: s.environment, version: s.version, strategy: s.strategy, steps: [], compensations: [] }]),
    ),
  };
  const session = openSession(opts, journal, clock, mask, env);
  session.emit({ kind: 'run.started', workflow: workflow.name, context: opts.context, inputs, resumed: false });
  await session.save();
  return drive(session, plan, opts);
}

/**
 * Continues a run from its journal: after an approval gate, or after the process running it died
 * (stages caught mid-change are rolled back), or after an incomplete rollback (retried).
 */
export async function resumeRun(opts: ResumeOptions): Promise<RunOutcome> {
  const journal = await opts.store.load();
  if (!journal) throw new UsageError(`no run journal at ${opts.store.location}: pass the --state file that 'rollgate run' wrote`);
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
  const paused = Object.entries(journal.stages).filter(([, r]) => r.status === 'paused');
  if (journal.status === 'paused' && !opts.decision) {
    throw new UsageError(
      `run ${journal.runId} is paused at ${paused.map(([n, r]) => `${n} (${r.pausedAt ?? 'gate'})`).join(', ')}: ` +
        'pass --approve or --reject (with --by NAME and --comment TEXT)',
    );
  }
  const env = opts.env ?? {};
  const mask = prepareSecrets(opts.loaded.workflow, env);
  const clock = opts.clock ?? createRunClock(opts.loaded.workflow, (journal.sim as { clock?: number } | undefined)?.clock);
  const session = openSession(opts, journal, clock, mask, env);
  const previous = journal.status;
  journal.status = 'running';
  session.emit({ kind: 'run.started', workflow: journal.workflow.name, context: opts.context, inputs: journal.inputs, resumed: true });

  if (previous === 'paused' && opts.decision) {
    for (const [name, record] of paused) {
      const decision = {
        status: opts.decision.approve ? ('approved' as const) : ('rejected' as const),
        by: opts.decision.by,
        at: new Date(clock.now()).toISOString(),
        ...(opts.decision.comment ? { comment: opts.decision.comment } : {}),
      };
      const gate = record.pausedAt ?? `approval-${name}`;
      // The stage's own gate keeps its decision in `approval`; gates inside the stage by step.
      if (gate === `approval-${name}`) record.approval = decision;
      else record.decisions = { ...record.decisions, [gate]: decision };
      session.emit({ kind: 'approval.decided', stage: name, gate, decision });
    }
    await session.save();
    return drive(session, planRun(opts.loaded.workflow, journal.inputs, journal.selection), opts);
  }

  if (opts.resolved) {
    resolveByHand(session, opts.resolved);
    return finishRun(session, opts);
  }

  // The process died mid-change, or a rollback was left incomplete: undo, never go forward blind.
  for (const [name, record] of Object.entries(journal.stages)) {
    if (record.status !== 'running' && record.status !== 'manual-intervention-required') continue;
    const reason =
      record.status === 'running'
        ? 'the process running this stage stopped before it finished; undoing what it changed'
        : 'retrying the rollback that was left incomplete';
    const result = await rollbackStage(session, name, reason);
    record.status = result.complete ? 'rolled-back' : 'manual-intervention-required';
    record.message = result.complete ? `${reason}: done` : `rollback incomplete: ${result.remaining.join('; ')}`;
    session.emit({ kind: 'stage.finished', stage: name, status: record.status, message: record.message });
  }
  markNotRun(session, 'the run was recovered after a crash; start a new run to deploy');
  return finishRun(session, opts);
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

function openSession(opts: RunOptions | ResumeOptions, journal: RunJournal, clock: Clock, mask: (s: string) => string, env: Record<string, string>): RunSession {
  const bus = new EventBus(journal.runId, clock, mask, journal.seq, (err) =>
    opts.onWarning?.(`an event subscriber failed and was dropped: ${(err as Error).message}`),
  );
  for (const fn of opts.subscribers ?? []) bus.subscribe(fn);
  const session = new RunSession(opts.loaded, journal, opts.store, bus, clock, env, opts.scenario ?? []);
  attachSinks(session, opts.onWarning ?? (() => {}), opts.onNotice ?? (() => {}));
  return session;
}

async function drive(session: RunSession, plan: ExecutionPlan, opts: RunOptions | ResumeOptions): Promise<RunOutcome> {
  await executeStages(session, plan, opts.signal ?? new AbortController().signal);
  await closePausedAfterFailure(session);
  return finishRun(session, opts);
}

const BAD: readonly StageStatus[] = ['failed', 'rolled-back', 'manual-intervention-required', 'cancelled'];

/**
 * A run with a failed stage does not stay paused elsewhere: a paused stage that changed something
 * (a canary waiting at 20%) is rolled back, one that changed nothing is closed. Otherwise a later
 * approval would go on deploying after a failure, and a run would hide its failure behind exit 3.
 */
async function closePausedAfterFailure(session: RunSession): Promise<void> {
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

/** Runs stages as a graph: parallel where `needs` allow, up to `maxParallelStages`, fail-fast. */
async function executeStages(session: RunSession, plan: ExecutionPlan, signal: AbortSignal): Promise<void> {
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
          if (['failed', 'rolled-back', 'manual-intervention-required', 'cancelled'].includes(status)) failed = true;
          return status;
        }),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  markNotRun(session, failed ? 'not started: an earlier stage failed' : signal.aborted ? 'not started: the run was cancelled' : '');
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

/** Stages that never started (after a failure, a cancel or a crash) are closed with the reason. */
function markNotRun(session: RunSession, reason: string): void {
  if (!reason) return;
  for (const [name, record] of Object.entries(session.journal.stages)) {
    if (record.status !== 'pending') continue;
    record.status = 'skipped';
    record.blockedBy = '(run)';
    record.message = reason;
    session.emit({ kind: 'stage.skipped', stage: name, reason });
  }
}

async function finishRun(session: RunSession, opts: RunOptions | ResumeOptions): Promise<RunOutcome> {
  const statuses = Object.values(session.journal.stages).map((r) => r.status);
  const status: RunStatus = statuses.includes('manual-intervention-required')
    ? 'manual-intervention-required'
    : opts.signal?.aborted || statuses.includes('cancelled')
      ? 'cancelled'
      : statuses.includes('paused')
        ? 'paused'
        : statuses.includes('rolled-back')
          ? 'rolled-back'
          : statuses.includes('failed')
            ? 'failed'
            : 'succeeded';
  session.journal.status = status;
  const started = Date.parse(session.journal.createdAt);
  session.emit({ kind: 'run.finished', status, durationMs: session.clock.now() - started, message: summary(session) });
  await session.saveBestEffort();
  if (session.saveError) {
    opts.onWarning?.(
      `the run journal ${session.store.location} could not be written (${errorMessage(session.saveError)}); ` +
        'it may not show the final state: the run summary above is the record of what happened',
    );
  }
  await session.closeSinks();
  return { runId: session.runId, status, exitCode: exitCodeFor(status), journal: maskDeep(session.journal, session.bus.mask) };
}

function summary(session: RunSession): string {
  return Object.entries(session.journal.stages)
    .map(([name, r]) => `${name}: ${r.status}`)
    .join(', ');
}

function newRunId(workflow: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${workflow}-${stamp}-${randomBytes(3).toString('hex')}`;
}
