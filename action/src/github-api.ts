/**
 * The few REST calls the action makes, through `@actions/github`'s Octokit (base URL from
 * `GITHUB_API_URL`, so GHES and tests work unchanged). Octokit is loaded on the first call, not
 * at start-up: a run reaches its first engine event without paying for it.
 */
type Octokit = ReturnType<typeof import('@actions/github').getOctokit>;

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

export interface Review {
  state: 'approved' | 'rejected' | 'pending';
  login: string;
  comment: string;
  environments: string[];
}

export interface GitHubApi {
  /** Creates a deployment; `undefined` when GitHub answered without one (202: it merged instead). */
  createDeployment(p: { ref: string; environment: string; description: string; payload: Record<string, unknown> }): Promise<number | undefined>;
  /** The environment's deployments, newest first (one page). */
  listDeployments(environment: string): Promise<{ id: number; payload: unknown }[]>;
  createStatus(id: number, state: DeploymentState, fields: { description: string; environmentUrl?: string; logUrl?: string }): Promise<void>;
  /** The state of a deployment's newest status, if any. */
  latestState(id: number): Promise<string | undefined>;
  /** The workflow run's review history: who approved or rejected which environment. */
  reviews(runId: number): Promise<Review[]>;
}

export function gitHubApi(token: string, owner: string, repo: string): GitHubApi {
  let client: Promise<Octokit> | undefined;
  const octokit = () => (client ??= import('@actions/github').then(({ getOctokit }) => getOctokit(token)));
  return {
    async createDeployment(p) {
      const res = await (
        await octokit()
      ).rest.repos.createDeployment({
        owner,
        repo,
        ref: p.ref,
        environment: p.environment,
        description: p.description.slice(0, 140),
        payload: p.payload as { [key: string]: unknown },
        task: 'deploy',
        // Set explicitly: GitHub's defaults would merge the default branch into `ref` and wait
        // for every commit status context, neither of which a rollout asked for.
        auto_merge: false,
        required_contexts: [],
        transient_environment: false,
      });
      return res.status === 201 && 'id' in res.data ? res.data.id : undefined;
    },
    async listDeployments(environment) {
      const res = await (await octokit()).rest.repos.listDeployments({ owner, repo, environment, per_page: 30 });
      return res.data.map((d) => ({ id: d.id, payload: d.payload }));
    },
    async createStatus(id, state, fields) {
      await (
        await octokit()
      ).rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: id,
        state,
        description: fields.description.slice(0, 140),
        ...(fields.environmentUrl ? { environment_url: fields.environmentUrl } : {}),
        ...(fields.logUrl ? { log_url: fields.logUrl } : {}),
        // The deployment this one replaced is marked inactive by the tracker itself, for every
        // environment alike (GitHub's own auto_inactive skips production environments).
        auto_inactive: false,
      });
    },
    async latestState(id) {
      const res = await (await octokit()).rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: id, per_page: 1 });
      return res.data[0]?.state;
    },
    async reviews(runId) {
      const res = await (await octokit()).rest.actions.getReviewsForRun({ owner, repo, run_id: runId });
      return res.data.map((r) => ({
        state: r.state,
        login: r.user.login,
        comment: r.comment,
        environments: r.environments.flatMap((e) => (e.name ? [e.name] : [])),
      }));
    },
  };
}

/** An API error in words: the status and what to change (a missing permission, mostly). */
export function describeApiError(err: unknown, permission: string): string {
  const status = (err as { status?: number }).status;
  const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  if (status === 403 || status === 404) return `GitHub answered ${status} (${message}): the token needs \`${permission}\` (job \`permissions:\`)`;
  return status ? `GitHub answered ${status}: ${message}` : message;
}
