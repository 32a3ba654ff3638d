import * as core from '@actions/core';
import { isEntryPoint, surviveClosedOutput } from './entry.js';
import { artifactNameFor, execute, type ActionResult } from './execute.js';
import { readGitHubRun } from './github-env.js';
import { readInputs } from './inputs.js';
import { plan } from './plan.js';
import { reportError } from './report.js';
import { writeSummary } from './summary.js';

/**
 * The action's main step. It reads the inputs, runs, plans or resumes the workflow in this
 * process, and reports: outputs, the job summary, and — only here — the step's failure. A run
 * paused at a gate (exit 3) is not a failure: the step succeeds with `result=paused`, the post
 * step uploads the journal, and the next job resumes it.
 */
export async function run(): Promise<void> {
  surviveClosedOutput();
  const gh = readGitHubRun();
  let result: ActionResult;
  let artifactName: string | undefined;
  try {
    const inputs = readInputs();
    artifactName = inputs.mode === 'plan' ? undefined : artifactNameFor(inputs, gh);
    result = inputs.mode === 'plan' ? await plan(inputs) : await execute(inputs, gh);
  } catch (err) {
    const failure = reportError(err);
    result = {
      result: failure.exitCode === 2 ? 'invalid' : 'error',
      exitCode: failure.exitCode,
      deployments: {},
      summaryText: failure.headline,
      failure,
      ...(artifactName ? { artifactName } : {}),
    };
  }
  if (result.head) core.info(`rollgate: audit chain head: entry ${result.head.seq}, ${result.head.hash} (check the trail later with 'rollgate audit verify --head ${result.head.hash}')`);
  setOutputs(result);
  if (result.summaryMarkdown) await writeSummary(result.summaryMarkdown);
  if (result.failure) {
    core.setFailed(result.failure.headline);
    return;
  }
  if (result.next) core.notice(result.next, { title: `rollgate: paused at ${result.pausedGate ?? 'a gate'}` });
}

function setOutputs(r: ActionResult): void {
  const outputs: Record<string, string> = {
    result: r.result,
    'exit-code': String(r.exitCode),
    'paused-gate': r.pausedGate ?? '',
    'run-id': r.runId ?? '',
    'state-path': r.statePath ?? '',
    'deployment-id': r.deploymentId !== undefined ? String(r.deploymentId) : '',
    deployments: JSON.stringify(r.deployments),
    'audit-path': r.auditPath ?? '',
    'audit-chain-head': r.head?.hash ?? '',
    summary: r.summaryText,
  };
  if (r.artifactName) outputs['artifact-name'] = r.artifactName;
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
}

if (isEntryPoint(import.meta.url)) await run();
