import * as core from '@actions/core';
import { errorMessage, FileRunStore, type LoadedWorkflow, type RunJournal } from '../../core/src/index.js';
import { auditFiles, chainHead } from './audit-files.js';
import { uploadRunFiles, UploadError } from './artifacts.js';
import { DeploymentTracker } from './deployments.js';
import { runEngine } from './engine.js';
import { isEntryPoint, surviveClosedOutput } from './entry.js';
import { finish, loadWorkflow, stageEnvironments } from './execute.js';
import { engineEnv, readGitHubRun, runContext, type GitHubRun } from './github-env.js';
import { gitHubApi } from './github-api.js';
import { readInputs, type ActionInputs } from './inputs.js';
import { reportError, type Failure } from './report.js';
import { loadStepState, type StepState } from './state.js';
import { writeSummary } from './summary.js';

/**
 * The post step (`post-if: always()`): it runs after the job's other steps, even when the job
 * failed or was cancelled. When the main step ended mid-rollout (killed when the job was
 * cancelled, after its own rollback was cut short), it finishes the rollback from the journal,
 * or, with `on-cancel: resume-later`, leaves the run for a `mode: resume` job and says so. Then it
 * prints the audit chain head and uploads the journal and the audit trail as one artifact.
 */
export async function run(): Promise<void> {
  surviveClosedOutput();
  const state = loadStepState();
  if (!state) {
    core.info('rollgate: the main step started no run (plan mode, or its inputs were refused): nothing to upload');
    return;
  }
  const gh = readGitHubRun();
  let failure: Failure | undefined;
  let loaded: LoadedWorkflow | undefined;
  let journal: RunJournal | undefined;
  try {
    const inputs = readInputs();
    loaded = await loadWorkflow(state.workflow, inputs.token);
    journal = await new FileRunStore(state.statePath).load();
    if (state.phase === 'running' && journal?.status === 'running') {
      failure = await leftMidRollout(state, journal, inputs, gh, loaded);
    }
  } catch (err) {
    failure = reportError(err);
  }
  try {
    await flushAndUpload(state, gh, loaded, journal);
  } catch (err) {
    const upload = err instanceof UploadError ? { headline: `rollgate: ${err.message}`, exitCode: 1 } : reportError(err);
    // The step fails with the first failure; a second one is still shown.
    if (failure) core.error(upload.headline);
    else failure = upload;
  }
  if (failure) core.setFailed(failure.headline);
}

/** The main step died with the run still changing things: roll it back, or leave it for resume. */
async function leftMidRollout(state: StepState, journal: RunJournal, inputs: ActionInputs, gh: GitHubRun, loaded: LoadedWorkflow): Promise<Failure | undefined> {
  if (inputs.onCancel === 'resume-later') {
    core.warning(
      `rollgate: run ${journal.runId} was left mid-rollout (the main step ended before it did; on-cancel: resume-later). ` +
        `Its journal is uploaded as artifact ${state.artifactName}: a later job downloads it and runs this action with mode: resume (no decision) to roll it back.`,
      { title: 'rollgate: run left for resume' },
    );
    return undefined;
  }
  core.warning(`rollgate: run ${journal.runId} was left mid-rollout (the job was cancelled or the main step killed): rolling back what it was changing`, {
    title: 'rollgate: rolling back a cancelled run',
  });
  const api = inputs.token && gh.owner && gh.repo ? gitHubApi(inputs.token, gh.owner, gh.repo) : undefined;
  const tracker =
    inputs.deployments && api
      ? new DeploymentTracker({
          api,
          ref: gh.sha ?? gh.ref ?? 'HEAD',
          workflow: loaded.workflow.name,
          lookupExisting: true,
          known: state.deployments,
          stageEnvironments: stageEnvironments(journal),
          ...(gh.runUrl ? { logUrl: gh.runUrl } : {}),
          ...(inputs.environmentUrl ? { environmentUrl: inputs.environmentUrl } : {}),
          warn: (m) => core.warning(m),
        })
      : undefined;
  const outcome = await runEngine({
    kind: 'resume',
    loaded,
    statePath: state.statePath,
    context: runContext(gh),
    env: engineEnv(),
    subscribers: tracker ? [tracker.subscriber] : [],
    holder: 'rollgate action (post: rollback of a cancelled run)',
  }).finally(() => tracker?.settled());
  const result = await finish(outcome, { inputs, gh, loaded, statePath: state.statePath, artifactName: state.artifactName, ...(tracker ? { tracker } : {}) });
  if (result.summaryMarkdown) await writeSummary(result.summaryMarkdown);
  core.info(`rollgate: the cancelled run ${outcome.runId} ended ${outcome.status} (exit ${outcome.exitCode})`);
  return result.failure;
}

/** The audit chain head in the log, then the journal and the trail in one artifact. */
async function flushAndUpload(state: StepState, gh: GitHubRun, loaded: LoadedWorkflow | undefined, journal: RunJournal | undefined): Promise<void> {
  const files = loaded && journal ? auditFiles(loaded.workflow, journal.runId) : { existing: [] as string[] };
  const head = await chainHead(files.trail);
  if (head) core.info(`rollgate: audit chain head: entry ${head.seq}, ${head.hash} (check the trail later with 'rollgate audit verify --head ${head.hash}')`);
  const inputs = safeInputs();
  const upload = await uploadRunFiles({
    name: state.artifactName,
    files: [state.statePath, ...files.existing],
    workspace: gh.workspace,
    ...(inputs?.retentionDays !== undefined ? { retentionDays: inputs.retentionDays } : {}),
    artifactService: gh.artifactService,
    ghes: gh.ghes,
  });
  if (upload.uploaded) {
    core.info(`rollgate: uploaded artifact ${state.artifactName}${upload.id !== undefined ? ` (id ${upload.id}, ${upload.size ?? 0} bytes)` : ''}: ${upload.files.join(', ')}`);
  } else {
    core.warning(`rollgate: artifact ${state.artifactName} not uploaded: ${upload.reason}. The files stay on the runner: ${upload.files.join(', ') || '(none)'}`, {
      title: 'rollgate: journal and audit trail not uploaded',
    });
  }
}

function safeInputs(): ActionInputs | undefined {
  try {
    return readInputs();
  } catch (err) {
    core.debug(errorMessage(err));
    return undefined;
  }
}

if (isEntryPoint(import.meta.url)) await run();
