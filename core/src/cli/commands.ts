import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadWorkflowFile, type LoadedWorkflow } from '../definition/load.js';
import type { Workflow } from '../definition/schema.js';
import { FileRunStore } from '../engine/file-run-store.js';
import { EXIT_AUDIT_INCOMPLETE, type RunOutcome } from '../engine/run-options.js';
import { planRun } from '../engine/plan.js';
import { resolveInputs } from '../engine/inputs.js';
import { CancelledError, errorMessage, formatIssue, isUserError, JournalError, RollgateError, UsageError } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import type { RunJournal } from '../model/journal.js';
import { printable } from '../util/printable.js';
import { contextFromEnv } from './context.js';
import { createConsoleReporter, formatSummary } from './console-reporter.js';
import { formatPlan } from './plan-format.js';
import type { CommandIO } from './io.js';
import { acquireRunLock } from './run-lock.js';
import { trailHeadLines } from './trail-head.js';
import { loadScenario, withScenario } from './scenario.js';

export type { CommandIO, SignalHandler } from './io.js';

type Values = Record<string, unknown>;


/** Runs one CLI command and returns its exit code; user errors become messages, not stacks. */
export async function runCommand(command: 'validate' | 'plan' | 'run' | 'resume', values: Values, positionals: string[], io: CommandIO): Promise<number> {
  try {
    switch (command) {
      case 'validate':
        return await validate(positionals, io);
      case 'plan':
        return await plan(values, positionals, io);
      case 'run':
        return await run(values, positionals, io);
      case 'resume':
        return await resume(values, io);
    }
  } catch (err) {
    return reportError(command, err, Boolean(values.debug), io);
  }
}

/** User errors become one line and exit 2; anything else is a bug: exit 70, stack with --debug. */
export function reportError(command: string, err: unknown, debug: boolean, io: Pick<CommandIO, 'out'>): number {
  if (debug && err instanceof Error) io.out.stderr(`${err.stack ?? ''}\n`);
  if (isUserError(err)) {
    io.out.stderr(printable(`rollgate ${command}: ${errorMessage(err)}\n`));
    return 2;
  }
  const hint = debug ? '' : ' (run with --debug for details)';
  io.out.stderr(printable(`rollgate ${command}: ${err instanceof RollgateError ? '' : 'unexpected error: '}${errorMessage(err)}${hint}\n`));
  return 70;
}

function fileArg(command: string, positionals: string[]): string {
  const [file, ...extra] = positionals;
  if (!file) throw new UsageError(`missing workflow FILE: rollgate ${command} FILE`);
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  return file;
}

async function validate(positionals: string[], io: CommandIO): Promise<number> {
  const file = fileArg('validate', positionals);
  const loaded = await loadWorkflowFile(file);
  for (const w of loaded.warnings) io.out.stderr(printable(`warning: ${formatIssue(w)}\n`));
  const { workflow } = loaded;
  io.out.stdout(
    `${file}: valid (workflow ${workflow.name}: ${workflow.stages.length} stage${workflow.stages.length === 1 ? '' : 's'}, ` +
      `${Object.keys(workflow.environments).length} environment(s), ${Object.keys(workflow.probes).length} probe(s))\n`,
  );
  return 0;
}

export function parseInputs(pairs: unknown): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const pair of (pairs as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input '${pair}' must look like NAME=VALUE`);
    inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return inputs;
}

function selection(values: Values) {
  return {
    ...(values.stage ? { stages: values.stage as string[] } : {}),
    ...(values.env ? { environment: values.env as string } : {}),
  };
}

async function plan(values: Values, positionals: string[], io: CommandIO): Promise<number> {
  const loaded = await loadWorkflowFile(fileArg('plan', positionals));
  const inputs = resolveInputs(loaded.workflow, parseInputs(values.input));
  const planned = await scenarioOf(values, loaded);
  const executionPlan = planRun(loaded.workflow, inputs, selection(values));
  // The engine loads only for the commands that run it: `validate` stays light.
  const { inspectPlan } = await import('../engine/plan-inspect.js');
  const inspected = await inspectPlan(planned, executionPlan, inputs, envRecord(io.env));
  io.out.stdout(values.json ? `${JSON.stringify(inspected, null, 2)}\n` : formatPlan(inspected));
  return 0;
}

/** A scenario file's failures added to the workflow's simulated infrastructure, with --scenario. */
async function scenarioOf(values: Values, loaded: LoadedWorkflow): Promise<LoadedWorkflow> {
  return values.scenario ? withScenario(loaded, await loadScenario(values.scenario as string)) : loaded;
}

/** What `run` and `resume` share: the edge of a run (signals, output, environment). */
function runEdge(values: Values, io: CommandIO) {
  const controller = new AbortController();
  const drain = new AbortController();
  let ended = false;
  io.installSignals((signal) => {
    if (ended) {
      drain.abort(new CancelledError(`received ${signal}`));
      return 'ended';
    }
    controller.abort(new CancelledError(`cancelled: received ${signal}`));
    return 'cancelling';
  });
  return {
    context: contextFromEnv(io.env, values.actor as string | undefined),
    env: envRecord(io.env),
    signal: controller.signal,
    stopDrain: drain.signal,
    subscribers: [
      reporter(values, io),
      (e: RunEvent) => {
        if (e.kind === 'run.finished') ended = true;
      },
    ],
    onWarning: (m: string) => io.out.stderr(printable(`warning: ${m}\n`)),
    onNotice: (m: string) => io.out.stderr(printable(`${m}\n`)),
  };
}

function store(values: Values, io: CommandIO): FileRunStore {
  return new FileRunStore((values.state as string | undefined) ?? io.defaultState);
}

async function run(values: Values, positionals: string[], io: CommandIO): Promise<number> {
  const loaded = await loadWorkflowFile(fileArg('run', positionals));
  for (const w of loaded.warnings) io.out.stderr(printable(`warning: ${formatIssue(w)}\n`));
  // Everything that can be refused is refused before the lock creates the state folder.
  const inputs = parseInputs(values.input);
  planRun(loaded.workflow, resolveInputs(loaded.workflow, inputs), selection(values));
  const journalStore = store(values, io);
  const lock = await acquireRunLock(journalStore.location, 'rollgate run');
  try {
    const { runWorkflow } = await import('../engine/executor.js');
    const outcome = await runWorkflow({
      ...runEdge(values, io),
      loaded: await scenarioOf(values, loaded),
      store: journalStore,
      inputs,
      selection: selection(values),
    });
    return await finish(outcome, loaded.workflow, values, io);
  } finally {
    await lock.release();
  }
}

async function resume(values: Values, io: CommandIO): Promise<number> {
  if (values.approve && values.reject) throw new UsageError('pass --approve or --reject, not both');
  const journalStore = store(values, io);
  const lock = await acquireRunLock(journalStore.location, 'rollgate resume');
  try {
    return await resumeLocked(values, io, journalStore);
  } finally {
    await lock.release();
  }
}

async function resumeLocked(values: Values, io: CommandIO, journalStore: FileRunStore): Promise<number> {
  const journal = await journalStore.load();
  if (!journal) throw new UsageError(`no run journal at ${journalStore.location}: pass the --state file that 'rollgate run' wrote`);
  const workflowPath = (values.workflow as string | undefined) ?? journal.workflow.path;
  await checkWorkflowHash(workflowPath, journal, Boolean(values['accept-changed-workflow']));
  const loaded = await loadWorkflowFile(workflowPath).catch((err: unknown) => {
    if (values.workflow || !(err instanceof UsageError)) throw err;
    throw new UsageError(`${err.message}\nThe journal names ${journal.workflow.path}; if the workspace moved (another CI runner or job folder), pass --workflow FILE.`);
  });
  const edge = runEdge(values, io);
  const decided = Boolean(values.approve || values.reject);
  const { resumeRun } = await import('../engine/executor.js');
  const outcome = await resumeRun({
    ...edge,
    loaded: await scenarioOf(values, loaded),
    store: journalStore,
    acceptChangedWorkflow: Boolean(values['accept-changed-workflow']),
    ...(values.resolved !== undefined ? { resolved: { by: edge.context.actor, comment: values.resolved as string } } : {}),
    ...(decided
      ? {
          decision: {
            approve: Boolean(values.approve),
            by: (values.by as string | undefined) ?? edge.context.actor,
            ...(values.comment ? { comment: values.comment as string } : {}),
          },
        }
      : {}),
  });
  return await finish(outcome, loaded.workflow, values, io);
}

/**
 * Before a workflow file named by a journal is parsed (and a parse error quotes its content), its
 * hash must be the one the run recorded: a journal edited to name another file (a `.env`) must
 * not get it printed. With --accept-changed-workflow a changed file is parsed, as asked.
 */
async function checkWorkflowHash(path: string, journal: RunJournal, acceptChanged: boolean): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return; // loadWorkflowFile says why it cannot be read
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 === journal.workflow.sha256 || acceptChanged) return;
  throw new JournalError(
    `run ${journal.runId} was started from a workflow file with sha256 ${journal.workflow.sha256.slice(0, 12)}…, ` +
      `and ${path} is not that file (sha256 ${sha256.slice(0, 12)}…); resume with the file the run started with ` +
      '(pass --workflow FILE if it moved), or with --accept-changed-workflow to finish a rollback with a changed file. The journal was left as it is.',
  );
}

function reporter(values: Values, io: CommandIO): (e: RunEvent) => void {
  if (values.json) return (e) => io.out.stdout(`${JSON.stringify(e)}\n`);
  return createConsoleReporter({ write: io.out.stdout, color: io.color });
}

async function finish(outcome: RunOutcome, workflow: Workflow, values: Values, io: CommandIO): Promise<number> {
  if (!values.json) {
    io.out.stdout(printable(`\n${formatSummary(outcome.journal)}`));
    for (const line of await trailHeadLines(workflow, outcome.journal.runId)) io.out.stdout(printable(`${line}\n`));
    const next = nextStep(outcome, (values.state as string | undefined) ?? io.defaultState);
    if (next) io.out.stdout(printable(`${next}\n`));
  }
  if (outcome.journalError) io.out.stderr(printable(`rollgate: JOURNAL NOT WRITTEN (exit ${outcome.exitCode}): ${outcome.journalError}\n`));
  if (outcome.exitCode === EXIT_AUDIT_INCOMPLETE) {
    io.out.stderr(printable(`rollgate: AUDIT TRAIL INCOMPLETE (exit ${outcome.exitCode}): the run succeeded, but ${outcome.auditIncomplete.join('; ')}\n`));
  }
  return outcome.exitCode;
}

function nextStep(outcome: RunOutcome, state: string): string | undefined {
  switch (outcome.status) {
    case 'paused':
      return `paused: approve with 'rollgate resume --state ${state} --approve' (or --reject); the journal is kept for it`;
    case 'manual-intervention-required':
      return `MANUAL INTERVENTION REQUIRED: see the stages above for what is left; 'rollgate resume --state ${state}' retries it, and after fixing it by hand, 'rollgate resume --state ${state} --resolved "what you did"' records that`;
    default:
      return undefined;
  }
}

function envRecord(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
