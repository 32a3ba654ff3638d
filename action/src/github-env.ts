import type { RunContext } from '../../core/src/index.js';

/**
 * The one file that reads the runner's variables (`GITHUB_*`, `ACTIONS_*`, `RUNNER_*`). Core never
 * does: it gets a `RunContext`, built here, and an environment for the commands it runs, cleaned
 * here. Read once per process, when the step starts.
 */
export interface GitHubRun {
  owner?: string;
  repo?: string;
  repository?: string;
  /** The workflow run (`GITHUB_RUN_ID`): its review history names who approved a gate. */
  runId?: number;
  runAttempt: number;
  job: string;
  sha?: string;
  ref?: string;
  serverUrl: string;
  actor: string;
  /** Link to the run, shown in the deployments (`log_url`), notifications and the audit trail. */
  runUrl?: string;
  commitUrl?: string;
  /** The workflow and its run number (`deploy #56`), as GitHub shows the run. */
  workflowRun?: string;
  /** The pull request a `pull_request` run builds (`#42`, from `refs/pull/42/merge`). */
  pullRequest?: string;
  workspace: string;
  /** The artifact service is reachable from this process (a runner gives JS actions its token). */
  artifactService: boolean;
  /** GitHub Enterprise Server, where @actions/artifact v2+ does not work. */
  ghes: boolean;
}

export function readGitHubRun(env: NodeJS.ProcessEnv = process.env): GitHubRun {
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const repository = env.GITHUB_REPOSITORY || undefined;
  const [owner, repo] = repository?.includes('/') ? repository.split('/', 2) : [];
  const runId = Number(env.GITHUB_RUN_ID);
  const attempt = Number(env.GITHUB_RUN_ATTEMPT);
  const sha = env.GITHUB_SHA || undefined;
  return {
    ...(owner && repo ? { owner, repo } : {}),
    ...(repository ? { repository } : {}),
    ...(Number.isSafeInteger(runId) && runId > 0 ? { runId } : {}),
    runAttempt: Number.isSafeInteger(attempt) && attempt > 0 ? attempt : 1,
    job: env.GITHUB_JOB || 'job',
    ...(sha ? { sha } : {}),
    ...(env.GITHUB_REF ? { ref: env.GITHUB_REF } : {}),
    serverUrl,
    // A re-run is started by someone other than the first actor: they are who runs it now.
    actor: env.GITHUB_TRIGGERING_ACTOR || env.GITHUB_ACTOR || 'unknown',
    ...(repository && env.GITHUB_RUN_ID ? { runUrl: `${serverUrl}/${repository}/actions/runs/${env.GITHUB_RUN_ID}` } : {}),
    ...(repository && sha ? { commitUrl: `${serverUrl}/${repository}/commit/${sha}` } : {}),
    ...(env.GITHUB_WORKFLOW ? { workflowRun: env.GITHUB_RUN_NUMBER ? `${env.GITHUB_WORKFLOW} #${env.GITHUB_RUN_NUMBER}` : env.GITHUB_WORKFLOW } : {}),
    ...(/^refs\/pull\/\d+\//.test(env.GITHUB_REF ?? '') ? { pullRequest: `#${(env.GITHUB_REF as string).split('/')[2]}` } : {}),
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
    artifactService: Boolean(env.ACTIONS_RUNTIME_TOKEN && env.ACTIONS_RESULTS_URL),
    ghes: isGhes(serverUrl),
  };
}

/** The artifact client's own test: a server that is not github.com, *.ghe.com or *.localhost. */
function isGhes(serverUrl: string): boolean {
  let host: string;
  try {
    host = new URL(serverUrl).hostname.toUpperCase();
  } catch {
    return false;
  }
  return host !== 'GITHUB.COM' && !host.endsWith('.GHE.COM') && !host.endsWith('.LOCALHOST');
}

/** Who and what started the run, as core records it (the CLI builds the same from `GITHUB_*`). */
export function runContext(run: GitHubRun): RunContext {
  return {
    actor: run.actor,
    ci: 'github',
    ...(run.repository ? { repository: run.repository } : {}),
    ...(run.sha ? { commit: run.sha } : {}),
    ...(run.ref ? { ref: run.ref } : {}),
    ...(run.runUrl ? { runUrl: run.runUrl } : {}),
    ...(run.commitUrl ? { commitUrl: run.commitUrl } : {}),
    ...(run.workflowRun ? { job: run.workflowRun } : {}),
    ...(run.pullRequest ? { change: run.pullRequest } : {}),
  };
}

/**
 * Variables the runner gives this action process only, never a `run:` step: the inputs (the
 * token among them), the post step's state, and the runtime token that can write artifacts and
 * caches. Deploy commands that rollgate starts inherit the environment, so these are removed:
 * a deploy script gets what a `run:` step would.
 */
const ACTION_ONLY = /^(INPUT_|STATE_)|^ACTIONS_(RUNTIME_TOKEN|RUNTIME_URL|RESULTS_URL|CACHE_URL)$/;

export function engineEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !ACTION_ONLY.test(k)) out[k] = v;
  return out;
}
