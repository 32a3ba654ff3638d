import { Gitlab, GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError } from '@gitbeaker/rest';
import { ProviderError } from '../errors.js';

/**
 * GitLab's Deployments API as the `gitlab` approver needs it: read one deployment (its `status`,
 * `approvals` and `pending_approval_count`) and list an environment's deployments to find the one
 * of this pipeline. A thin layer over the real `@gitbeaker/rest` client, loaded only when a gate
 * asks (the CLI's start-up memory stays as it was), whose job is to turn every failure into a
 * `ProviderError` that names the GitLab instance, the project and the variable the token came
 * from, and never the token.
 */

/** A user as the Deployments API shows one (`SimpleUserSchema`). */
export interface GitlabUser {
  id?: number;
  username: string;
  name?: string;
}

/** One entry of a deployment's `approvals` (`DeploymentApprovalStatusSchema`). */
export interface GitlabApproval {
  user: GitlabUser;
  status: 'approved' | 'rejected';
  created_at: string;
  comment?: string | null;
}

/** The fields of `GET /projects/:id/deployments/:deployment_id` the approver reads. */
export interface GitlabDeployment {
  id: number;
  iid?: number;
  status: string;
  environment?: { id?: number; name: string };
  deployable?: { id: number; name: string; pipeline?: { id: number } } | null;
  /** Present on Premium and above when the environment has approval rules. */
  pending_approval_count?: number;
  approvals?: GitlabApproval[];
}

export interface GitlabDeployments {
  /** `GET /projects/:id/deployments/:deployment_id`. */
  show(project: string | number, deploymentId: number): Promise<GitlabDeployment>;
  /** `GET /projects/:id/deployments?environment=…&order_by=id&sort=desc`: the newest first, one page. */
  ofEnvironment(project: string | number, environment: string): Promise<GitlabDeployment[]>;
}

export interface GitlabConnection {
  /** The instance, e.g. `https://gitlab.example.com` (the client adds `/api/v4`). */
  host: string;
  token: string;
  /** How the token travels: `JOB-TOKEN` (CI_JOB_TOKEN), `PRIVATE-TOKEN`, or an OAuth bearer. */
  tokenType: 'job' | 'private' | 'oauth';
  /** The variable the token came from: errors name it, never the token. */
  tokenEnv: string;
  /** One call's limit: a call with no answer by then fails as retryable. */
  timeoutMs: number;
  /** Who asks, first in every error message (`gitlab approver for production`). */
  who: string;
}

/** How many deployments one look at an environment reads: the pipeline's are among the newest. */
const PAGE = 100;

export function connectGitlab(c: GitlabConnection): GitlabDeployments {
  const auth = c.tokenType === 'job' ? { jobToken: c.token } : c.tokenType === 'oauth' ? { oauthToken: c.token } : { token: c.token };
  const api = new Gitlab({ host: c.host, queryTimeout: c.timeoutMs, ...auth });
  return {
    async show(project, deploymentId) {
      try {
        return (await api.Deployments.show(project, deploymentId)) as unknown as GitlabDeployment;
      } catch (err) {
        throw gitlabError(err, c, project, `deployment ${deploymentId}`);
      }
    },
    async ofEnvironment(project, environment) {
      try {
        const found = await api.Deployments.all(project, { environment, orderBy: 'id', sort: 'desc', perPage: PAGE, maxPages: 1 });
        return found as unknown as GitlabDeployment[];
      } catch (err) {
        throw gitlabError(err, c, project, `the deployments of environment ${environment}`);
      }
    },
  };
}

/** The HTTP status and GitLab's own message of a failed call, when it got that far. */
function answer(err: unknown): { status: number; message: string } | undefined {
  if (!(err instanceof GitbeakerRequestError)) return undefined;
  const cause = err.cause as { response?: { status?: number }; description?: string } | undefined;
  const status = cause?.response?.status;
  return typeof status === 'number' ? { status, message: String(cause?.description ?? '') } : undefined;
}

/**
 * Classifies a failed call. A refused token, a missing project or deployment are not retried
 * (asking again changes nothing); 5xx, timeouts and a GitLab that cannot be reached are, since
 * the approver keeps looking until its own timeout.
 */
export function gitlabError(err: unknown, c: Pick<GitlabConnection, 'host' | 'tokenEnv' | 'who'>, project: string | number, what: string): ProviderError {
  const where = `${c.who}: GitLab at ${c.host}`;
  const got = answer(err);
  if (got?.status === 401) {
    return new ProviderError(
      `${where} refused the token in ${c.tokenEnv} (401 Unauthorized) reading ${what} of project ${project}: ` +
        `check that ${c.tokenEnv} holds a valid, unexpired token (and tokenType matches it)`,
    );
  }
  if (got?.status === 403) {
    return new ProviderError(
      `${where} does not let the token in ${c.tokenEnv} read ${what} of project ${project} (403 Forbidden): ` +
        'a project or personal token needs the read_api scope and at least the Reporter role; a job token from another project needs this project\'s job token allowlist',
    );
  }
  if (got?.status === 404) {
    const projectMissing = /project/i.test(got.message) || what.startsWith('the deployments');
    return new ProviderError(
      projectMissing
        ? `${where} has no project ${project} (404 ${got.message || 'Not Found'}), or the token in ${c.tokenEnv} cannot see it: check \`project\` (an ID or a path such as group/app)`
        : `${where} has no ${what} in project ${project} (404 ${got.message || 'Not Found'}): check \`deployment\`, or leave it out to find this pipeline's deployment`,
    );
  }
  if (got) {
    const transient = got.status === 429 || got.status >= 500;
    return new ProviderError(`${where} answered ${got.status}${got.message ? ` (${got.message})` : ''} reading ${what} of project ${project}`, { retryable: transient });
  }
  if (err instanceof GitbeakerRetryError) return new ProviderError(`${where} kept answering 429/502 reading ${what}: ${err.message}`, { retryable: true });
  if (err instanceof GitbeakerTimeoutError) return new ProviderError(`${where} did not answer in time reading ${what} of project ${project}`, { retryable: true });
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return new ProviderError(`${c.who}: cannot reach GitLab at ${c.host} reading ${what} of project ${project}${typeof code === 'string' ? ` (${code})` : ''}`, { retryable: true });
}
