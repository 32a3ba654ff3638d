import { z } from 'zod';
import { createRealClock } from '../clocks/real.js';
import { duration, envVarName } from '../config/fields.js';
import { errorMessage, ProviderError } from '../errors.js';
import type { ApprovalDecision } from '../model/results.js';
import type { ApprovalRequest, Approver } from '../ports/approver.js';
import type { Clock } from '../ports/clock.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { formatDuration } from '../util/duration.js';
import type { GitlabApproval, GitlabDeployment, GitlabDeployments } from './gitlab-deployments.js';

/**
 * `gitlab`: the gate waits, inside the job, for the approvers of a GitLab deployment: a deployment
 * to a protected environment with deployment approvals (GitLab Premium) is blocked until its
 * approval rules are met, and GitLab records who approved or rejected it. The approver reads that
 * record (`GET /projects/:id/deployments/:deployment_id`): approved once no approval is pending,
 * rejected as soon as one approver rejects, and, when nobody decides before `timeout`, rejected
 * (or paused for `rollgate resume`, with `onTimeout: pause`). The decision names the people
 * GitLab reports, never whoever started the pipeline.
 */
export const type = 'gitlab';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe("GitLab instance, e.g. https://gitlab.example.com (default: the job's CI_SERVER_URL)"),
    project: z
      .union([z.number().int().positive(), z.string().min(1)])
      .optional()
      .describe("Project ID or path such as group/app (default: the job's CI_PROJECT_ID)"),
    environment: z.string().min(1).optional().describe("GitLab environment whose deployment is approved (default: the stage's environment)"),
    job: z.string().min(1).optional().describe('Name of the job whose deployment carries the approvals (default: this job, else the newest of the pipeline)'),
    deployment: z.number().int().positive().optional().describe("Deployment ID to wait on, instead of finding this pipeline's"),
    tokenEnv: envVarName('Environment variable holding the token: CI_JOB_TOKEN, or a project/personal token with read_api').default('CI_JOB_TOKEN'),
    tokenType: z
      .enum(['job', 'private', 'oauth'])
      .optional()
      .describe('How the token is sent: JOB-TOKEN, PRIVATE-TOKEN or OAuth bearer (default: job for CI_JOB_TOKEN, else private)'),
    pollInterval: duration('Time between two looks at the deployment').prefault('15s'),
    timeout: duration('How long to wait for the approvers; 0s looks once').prefault('1h'),
    onTimeout: z
      .enum(['reject', 'pause'])
      .default('reject')
      .describe('Without a decision in time: reject (the stage fails, nothing changed) or pause (exit code 3, `rollgate resume` decides)'),
    requestTimeout: duration('Give up on one API call after this long (it is tried again at the next look)').prefault('30s'),
  })
  .describe('Wait for the approvers of a GitLab deployment (protected environment with deployment approvals)');
export type GitlabApprovalConfig = z.infer<typeof configSchema>;

/** The approver recorded when nobody decided in time. */
export const TIMEOUT_APPROVER = 'timeout';

/** People approve in wall time: on a simulated run clock, the wait is on the wall clock. */
const wallClock = createRealClock();

/** Where the approvals are, from the config and, inside a GitLab job, its CI_* variables. */
interface Target {
  host: string;
  project: string | number;
  environment: string;
}

export function create(config: GitlabApprovalConfig, deps: ProviderDeps): Approver {
  const label = `gitlab approver for ${deps.environment}`;
  let api: Promise<GitlabDeployments> | undefined;
  /** The deployment found once: a later look reads it directly. */
  let found: number | undefined;

  function connect(host: string): Promise<GitlabDeployments> {
    const token = deps.secret(config.tokenEnv);
    if (!token) throw new ProviderError(`${label}: environment variable ${config.tokenEnv} is not set (tokenEnv); in a GitLab job CI_JOB_TOKEN is, else set a masked CI/CD variable`);
    const tokenType = config.tokenType ?? (config.tokenEnv === 'CI_JOB_TOKEN' ? 'job' : 'private');
    // Loaded on the first look only: runs without this gate never load the GitLab client.
    api ??= import('./gitlab-deployments.js').then(({ connectGitlab }) =>
      connectGitlab({ host, token, tokenType, tokenEnv: config.tokenEnv, timeoutMs: config.requestTimeout, who: label }),
    );
    return api;
  }

  function target(req: ApprovalRequest, ctx: StepContext): Target {
    const host = (config.url ?? ctx.env.CI_SERVER_URL)?.replace(/\/+$/, '').replace(/\/api\/v4$/, '');
    const project = config.project ?? ctx.env.CI_PROJECT_ID;
    if (!host) throw new ProviderError(`${label}: no GitLab URL: set \`url\`, or run it in a GitLab job (CI_SERVER_URL is not set)`);
    if (project === undefined || project === '') {
      throw new ProviderError(`${label}: no GitLab project: set \`project\`, or run it in a GitLab job (CI_PROJECT_ID is not set)`);
    }
    return { host, project, environment: config.environment ?? req.environment };
  }

  /** This pipeline's deployment of the environment: the named job's, else this job's, else the newest. */
  async function locate(client: GitlabDeployments, t: Target, ctx: StepContext): Promise<number> {
    if (config.deployment !== undefined) return config.deployment;
    if (found !== undefined) return found;
    const pipeline = Number(ctx.env.CI_PIPELINE_ID);
    if (!Number.isInteger(pipeline) || pipeline <= 0) {
      throw new ProviderError(`${label}: no deployment to wait on: set \`deployment\`, or run it in a GitLab pipeline (CI_PIPELINE_ID is not set)`);
    }
    const ofPipeline = (await settleFirst(client.ofEnvironment(t.project, t.environment), ctx.signal)).filter(
      (d) => d.deployable?.pipeline?.id === pipeline && (config.job === undefined || d.deployable.name === config.job),
    );
    const own = ofPipeline.find((d) => String(d.deployable?.id) === ctx.env.CI_JOB_ID);
    const chosen = config.job === undefined && own ? own : ofPipeline[0];
    if (!chosen) {
      throw new ProviderError(
        `${label}: pipeline ${pipeline} has no deployment to environment ${t.environment}${config.job ? ` by job ${config.job}` : ''} in project ${t.project}: ` +
          `a job with \`environment: ${t.environment}\` in this pipeline creates it (see the component README, "Gates")`,
      );
    }
    found = chosen.id;
    return chosen.id;
  }

  return {
    type,
    async request(req, ctx) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const t = target(req, ctx);
      const client = await connect(t.host);
      const clock: Clock = ctx.clock.simulated ? wallClock : ctx.clock;
      const deadline = clock.now() + config.timeout;
      let last: { deployment?: GitlabDeployment; error?: string } = {};
      for (;;) {
        let id: number | undefined;
        try {
          id = await locate(client, t, ctx);
          const deployment = await settleFirst(client.show(t.project, id), ctx.signal);
          last = { deployment };
          const decision = judge(deployment, t, label);
          if (decision) return decision;
        } catch (err) {
          // Only what asking again can cure is waited out: an outage, a 5xx, a slow answer.
          if (ctx.signal.aborted || !(err instanceof ProviderError) || !err.retryable) throw err;
          last = { ...last, error: errorMessage(err) };
          ctx.log.warn(`${errorMessage(err)}; looking again in ${formatDuration(config.pollInterval)}`);
        }
        const left = deadline - clock.now();
        if (left <= 0) return timedOut(config, t, id, last, clock, ctx, label);
        await clock.sleep(Math.min(config.pollInterval, left), ctx.signal);
      }
    },
  };
}

/**
 * What GitLab's record says: rejected when any approver rejected (GitLab then drops the job),
 * approved when no approval is pending, `undefined` while it waits. A deployment without approval
 * rules (no `pending_approval_count`: not Premium, or the environment is not protected) is an
 * error, never a silent approval.
 */
export function judge(d: GitlabDeployment, t: Pick<Target, 'project' | 'environment'>, label: string): ApprovalDecision | undefined {
  const approvals = d.approvals ?? [];
  const rejected = approvals.filter((a) => a.status === 'rejected');
  if (rejected.length > 0) return decided('rejected', rejected);
  const approved = approvals.filter((a) => a.status === 'approved');
  if (d.pending_approval_count === undefined || (d.pending_approval_count === 0 && approved.length === 0)) {
    throw new ProviderError(
      `${label}: deployment ${d.id} to ${t.environment} in project ${t.project} needs no approval (GitLab reports ` +
        `${d.pending_approval_count === undefined ? 'no approval rules' : 'no pending approval and no approver'}): protect the environment ` +
        'with required approvals (GitLab Premium), or gate the stage with `approval: {type: manual}`',
    );
  }
  if (d.pending_approval_count === 0) return decided('approved', approved);
  if (d.status === 'canceled' || d.status === 'failed' || d.status === 'success') {
    throw new ProviderError(`${label}: deployment ${d.id} to ${t.environment} in project ${t.project} is ${d.status} and still waits for ${d.pending_approval_count} approval(s)`);
  }
  return undefined;
}

/** A decision made by people: all of them, their comments (whose, when several decided), and the time of the last one. */
function decided(status: 'approved' | 'rejected', by: GitlabApproval[]): ApprovalDecision {
  const comments = by.filter((a) => a.comment).map((a) => (by.length > 1 ? `${a.user.username}: ${a.comment}` : String(a.comment)));
  const times = by.map((a) => Date.parse(a.created_at)).filter((ms) => Number.isFinite(ms));
  return {
    status,
    by: by.map((a) => a.user.username).join(', '),
    ...(comments.length > 0 ? { comment: comments.join('; ') } : {}),
    ...(times.length > 0 ? { at: new Date(Math.max(...times)).toISOString() } : {}),
  };
}

function timedOut(
  config: GitlabApprovalConfig,
  t: Target,
  id: number | undefined,
  last: { deployment?: GitlabDeployment; error?: string },
  clock: Clock,
  ctx: StepContext,
  label: string,
): ApprovalDecision {
  const d = last.deployment;
  const soFar = (d?.approvals ?? []).filter((a) => a.status === 'approved').map((a) => a.user.username);
  const state = [
    d ? `${d.pending_approval_count ?? '?'} approval(s) still pending` : undefined,
    soFar.length > 0 ? `approved so far by ${soFar.join(', ')}` : undefined,
    last.error ? `last error: ${last.error}` : undefined,
  ].filter(Boolean);
  const what = `GitLab deployment ${id ?? '(not found)'} to ${t.environment}`;
  if (config.onTimeout === 'pause') {
    ctx.log.info(`${label}: no decision yet on ${what}${state.length ? ` (${state.join('; ')})` : ''}; the run pauses for 'rollgate resume'`);
    return { status: 'pending' };
  }
  return {
    status: 'rejected',
    by: TIMEOUT_APPROVER,
    comment: `no decision on ${what} within ${formatDuration(config.timeout)}${state.length ? `: ${state.join('; ')}` : ''}`,
    at: new Date(clock.now()).toISOString(),
  };
}

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts. The client has no
 * per-call signal (only its own timeout), so a call in flight is left to finish in the background.
 */
function settleFirst<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
