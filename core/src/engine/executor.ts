import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';
import { JOURNAL_FORMAT, type RunJournal } from '../model/journal.js';
import { maskDeep } from '../util/mask-deep.js';
import { drive } from './finish-run.js';
import { resolveInputs } from './inputs.js';
import { bindingOf, secretInputParts } from './journal-binding.js';
import { RUN_ID_PATTERN } from './journal-schema.js';
import { openSession } from './open-session.js';
import { planRun } from './plan.js';
import type { RunOptions, RunOutcome } from './run-options.js';
import { auditKey, createRunClock, prepareSecrets, secretSources } from './run-setup.js';

export { resumeRun } from './resume.js';
export { EXIT_AUDIT_INCOMPLETE, EXIT_NOT_RECORDED, exitCodeFor } from './run-options.js';
export type { ResumeOptions, RunOptions, RunOutcome } from './run-options.js';

/**
 * Starts a new run of a workflow. Refuses to overwrite the journal of a run still in progress.
 * Everything that can be refused (inputs, selection, secrets, the run id) is refused before the
 * journal is first written.
 */
export async function runWorkflow(opts: RunOptions): Promise<RunOutcome> {
  const { workflow } = opts.loaded;
  const inputs = resolveInputs(workflow, opts.inputs ?? {});
  const plan = planRun(workflow, inputs, opts.selection);
  if (opts.runId !== undefined && !RUN_ID_PATTERN.test(opts.runId)) {
    throw new UsageError(`run id '${opts.runId}' is not usable: letters, digits, '.', '_' and '-' only (it names the audit file), without '..'`);
  }
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
  const secretInputs = secretInputParts(inputs, secretSources(workflow, env));
  const journal: RunJournal = {
    format: JOURNAL_FORMAT,
    runId,
    workflow: { name: workflow.name, path: opts.loaded.path, sha256: opts.loaded.sha256 },
    context: opts.context,
    inputs,
    ...(secretInputs ? { secretInputs } : {}),
    selection: { ...opts.selection },
    status: 'running',
    createdAt: now,
    updatedAt: now,
    seq: 0,
    stages: Object.fromEntries(
      plan.stages.map((s) => [s.name, { status: 'pending', environment: s.environment, version: s.version, strategy: s.strategy, steps: [], compensations: [] }]),
    ),
  };
  // Bound to what the file will hold: the masked inputs and versions.
  journal.workflow.binding = bindingOf(maskDeep(journal, mask), auditKey(workflow, env));
  const { session, sinks } = openSession(opts, journal, clock, mask, env);
  // Every audit sink proves it can write before anything is written or changed.
  await sinks.ready;
  session.emit({ kind: 'run.started', workflow: workflow.name, context: opts.context, inputs, resumed: false });
  await session.writer.save();
  return drive(session, plan, opts);
}

function newRunId(workflow: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${workflow}-${stamp}-${randomBytes(3).toString('hex')}`;
}
