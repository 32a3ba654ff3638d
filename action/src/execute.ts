import * as core from '@actions/core';
import { resolve } from 'node:path';
import { FileRunStore, formatIssue, loadWorkflowFile, UsageError, type LoadedWorkflow, type RunJournal, type RunOutcome, formatSummary, printableLine } from '../../core/src/index.js';
import { ApprovalError, decideGate, pausedStage, type GateDecision } from './approvals.js';
import { auditFiles, chainHead, shown } from './audit-files.js';
import { DeploymentTracker } from './deployments.js';
import { runEngine } from './engine.js';
import { engineEnv, runContext, type GitHubRun } from './github-env.js';
import { gitHubApi, type GitHubApi } from './github-api.js';
import { InputsError, type ActionInputs } from './inputs.js';
import { maskSecrets } from './masks.js';
import { reportRunFailure, type Failure } from './report.js';
import { saveStepState, type StepState } from './state.js';
import { runSummaryMarkdown } from './summary.js';

/**
 * `mode: run` and `mode: resume`: the workflow is loaded and its secrets masked, the gate's
 * approver is read from GitHub (resume), the engine runs with the deployments tracker beside it,
 * and what the step reports is gathered into one `ActionResult`. Nothing here sets an output or
 * fails the step: main.ts does, from the result.
 */
export interface ActionResult {
  result: string;
  exitCode: number;
  runId?: string;
  pausedGate?: string;
  statePath?: string;
  deploymentId?: number;
  deployments: Record<string, number>;
  auditPath?: string;
  head?: { seq: number; hash: string };
  artifactName?: string;
  summaryText: string;
  summaryMarkdown?: string;
  failure?: Failure;
  /** What the next job must do, for a paused run. */
  next?: string;
}

export function artifactNameFor(inputs: ActionInputs, gh: GitHubRun): string {
  return `${inputs.auditArtifact}-${gh.job}-${gh.runAttempt}`;
}

/**
 * Loads the workflow named by the `workflow` input (a file that cannot be read is that input's
 * error) and registers its secrets with the runner, before anything at all is printed.
 */
export async function loadWorkflow(path: string, token?: string): Promise<LoadedWorkflow> {
  try {
    const loaded = await loadWorkflowFile(path);
    maskSecrets(loaded.workflow, engineEnv(), [token]);
    for (const w of loaded.warnings) core.warning(printableLine(formatIssue(w)), { title: 'rollgate: workflow warning', ...(w.file ? { file: w.file } : {}), ...(w.line ? { startLine: w.line } : {}) });
    return loaded;
  } catch (err) {
    if (err instanceof UsageError) throw new InputsError([{ input: 'workflow', message: err.message }]);
    throw err;
  }
}

export async function execute(inputs: ActionInputs, gh: GitHubRun): Promise<ActionResult> {
  const mode = inputs.mode === 'resume' ? 'resume' : 'run';
  const loaded = await loadWorkflow(inputs.workflow, inputs.token);
  const statePath = resolve(inputs.statePath);
  const api = inputs.token && gh.owner && gh.repo ? gitHubApi(inputs.token, gh.owner, gh.repo) : undefined;
  const journal = mode === 'resume' ? await resumable(inputs, statePath) : undefined;
  const decision = journal ? await gateDecision(inputs, gh, journal, api) : undefined;

  const state: StepState = { phase: 'running', mode, statePath, workflow: loaded.path, artifactName: artifactNameFor(inputs, gh), deployments: {} };
  const tracker =
    inputs.deployments && api
      ? new DeploymentTracker({
          api,
          ref: gh.sha ?? gh.ref ?? 'HEAD',
          workflow: loaded.workflow.name,
          lookupExisting: mode === 'resume',
          ...(journal ? { stageEnvironments: stageEnvironments(journal) } : {}),
          ...(gh.runUrl ? { logUrl: gh.runUrl } : {}),
          ...(inputs.environmentUrl ? { environmentUrl: inputs.environmentUrl } : {}),
          warn: (m) => core.warning(m),
          onDeployment: (env, id) => {
            state.deployments[env] = id;
            saveStepState(state);
          },
        })
      : undefined;
  if (inputs.deployments && !api) core.warning('GitHub deployments are not recorded: GITHUB_REPOSITORY or the token is missing');

  saveStepState(state);
  let outcome: RunOutcome;
  try {
    outcome = await runEngine({
      kind: mode,
      loaded,
      statePath,
      context: runContext(gh),
      env: engineEnv(),
      inputs: inputs.inputs,
      selection: { ...(inputs.stages.length > 0 ? { stages: inputs.stages } : {}), ...(inputs.environment ? { environment: inputs.environment } : {}) },
      ...(decision ? { decision } : {}),
      subscribers: tracker ? [tracker.subscriber] : [],
      holder: `rollgate action (${mode})`,
    });
  } finally {
    await tracker?.settled();
    state.phase = 'finished';
    saveStepState(state);
  }
  return finish(outcome, { inputs, gh, loaded, statePath, artifactName: state.artifactName, ...(tracker ? { tracker } : {}) });
}

/** Resume: the journal must be there (downloaded from the job that ran up to the gate). */
async function resumable(inputs: ActionInputs, statePath: string): Promise<RunJournal> {
  const journal = await new FileRunStore(statePath).load();
  if (journal) return journal;
  throw new InputsError([
    {
      input: 'state-path',
      message: `no run journal at ${inputs.statePath}: download the artifact of the job that ran up to the gate (actions/download-artifact, into the workspace) before this step`,
    },
  ]);
}

/** Each stage's environment, so deployments of stages started by an earlier job are updated. */
export function stageEnvironments(journal: RunJournal): Record<string, string> {
  return Object.fromEntries(Object.entries(journal.stages).map(([name, r]) => [name, r.environment]));
}

/** A paused run needs a decision, decided by the reviewer GitHub reports. */
async function gateDecision(inputs: ActionInputs, gh: GitHubRun, journal: RunJournal, api: GitHubApi | undefined): Promise<GateDecision | undefined> {
  const paused = pausedStage(journal);
  if (paused && !inputs.decision) {
    throw new InputsError([{ input: 'decision', message: `is required: run ${journal.runId} is paused at ${paused.stage}/${paused.gate}; set decision: approve (or reject)` }]);
  }
  if (!paused || !inputs.decision) return undefined;
  if (!api) throw new ApprovalError('GITHUB_REPOSITORY is not set: the review history of this run cannot be read, so no approver can be recorded');
  const decided = await decideGate({
    api,
    runId: gh.runId,
    decision: inputs.decision,
    environment: inputs.approvalEnvironment ?? paused.environment,
    ...(inputs.comment ? { comment: inputs.comment } : {}),
  });
  core.info(`rollgate: ${paused.stage}/${paused.gate} ${decided.approve ? 'approved' : 'rejected'} by ${decided.by} (as GitHub reports the review of this run)`);
  return decided;
}

interface FinishContext {
  inputs: ActionInputs;
  gh: GitHubRun;
  loaded: LoadedWorkflow;
  statePath: string;
  artifactName: string;
  tracker?: DeploymentTracker;
}

/** The outcome as the step reports it: outputs, the audit head, the summary, a failure. */
export async function finish(outcome: RunOutcome, c: FinishContext): Promise<ActionResult> {
  const { journal, exitCode } = outcome;
  const files = auditFiles(c.loaded.workflow, outcome.runId);
  const head = await chainHead(files.trail);
  const paused = pausedStage(journal);
  const pausedGate = paused ? `${paused.stage}/${paused.gate}` : undefined;
  const next = paused
    ? `Paused at ${pausedGate}: the job that resumes it downloads artifact ${c.artifactName} and runs this action with mode: resume and decision: approve, in the protected environment ${paused.environment}.`
    : undefined;
  const hmacVar = c.loaded.workflow.audit.hmacKeyEnv;
  const key = hmacVar ? engineEnv()[hmacVar] : undefined;
  const summaryMarkdown = await runSummaryMarkdown({
    journal,
    result: journal.status,
    ...(pausedGate ? { pausedGate } : {}),
    ...(next ? { next } : {}),
    ...(files.trail ? { trail: files.trail } : {}),
    ...(head ? { head } : {}),
    ...(key ? { key } : {}),
    artifactName: c.artifactName,
  });
  const ok = exitCode === 0 || exitCode === 3;
  return {
    result: journal.status,
    exitCode,
    runId: outcome.runId,
    ...(pausedGate ? { pausedGate } : {}),
    statePath: shown(c.statePath, c.gh.workspace),
    ...(c.tracker?.lastId !== undefined ? { deploymentId: c.tracker.lastId } : {}),
    deployments: c.tracker?.ids() ?? {},
    ...(files.trail ? { auditPath: shown(files.trail, c.gh.workspace) } : {}),
    ...(head ? { head } : {}),
    artifactName: c.artifactName,
    summaryText: formatSummary(journal) + (next ? `${next}\n` : ''),
    summaryMarkdown,
    ...(ok ? {} : { failure: reportRunFailure(journal, exitCode, outcome) }),
    ...(next ? { next } : {}),
  };
}

