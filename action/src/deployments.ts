import type { RunEvent, StageStatus } from '../../core/src/index.js';
import { describeApiError, type DeploymentState, type GitHubApi } from './github-api.js';

/**
 * GitHub deployments that follow the run: one deployment per environment the run deploys to,
 * `in_progress` when its first stage starts, then `success` once every stage of it succeeded, or
 * `failure` (`error` when a rollback needs a person); on success, the deployment it replaced is
 * marked `inactive`. The deployment carries the rollgate run id in its payload, so the job that
 * resumes the run after a gate (or the post step) finds and updates the same one.
 *
 * API calls never hold up the rollout: events are queued and sent in order beside it, and a
 * failing call is a warning (said once), never a failed deployment.
 */
export interface TrackerOptions {
  api: GitHubApi;
  /** The commit deployed (GITHUB_SHA). */
  ref: string;
  workflow: string;
  /** The job's run page (`log_url`). */
  logUrl?: string;
  /** Overrides the environment's `url` from the workflow (`environment_url`). */
  environmentUrl?: string;
  /** Ids already known (from main's saved state, in the post step). */
  known?: Record<string, number>;
  /** Look for this run's deployments made by an earlier job (a resumed run); a new run has none. */
  lookupExisting: boolean;
  /**
   * Each stage's environment, from the journal of a resumed run: a stage that started in an
   * earlier job (or process) can finish here without starting again.
   */
  stageEnvironments?: Record<string, string>;
  warn: (message: string) => void;
  /** Called when a deployment is created or found, so main can save it for post. */
  onDeployment?: (environment: string, id: number) => void;
}

interface EnvState {
  id?: number;
  url?: string;
  /** Stage name → its status; `running` until `stage.finished`. */
  stages: Map<string, StageStatus>;
  done: boolean;
}

const FAILED: Partial<Record<StageStatus, DeploymentState>> = {
  failed: 'failure',
  'rolled-back': 'failure',
  cancelled: 'failure',
  'manual-intervention-required': 'error',
};

export class DeploymentTracker {
  private readonly envs = new Map<string, EnvState>();
  private readonly stageEnv = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private warned = false;
  /** The rollgate run id, from the first event: a new run's id is chosen by the engine. */
  private runId = '';
  /** The last deployment created or updated (`deployment-id`). */
  lastId: number | undefined;

  constructor(private readonly opts: TrackerOptions) {}

  /** The engine subscriber: synchronous, it only queues the calls. */
  readonly subscriber = (e: RunEvent): void => {
    this.runId ||= e.runId;
    switch (e.kind) {
      case 'stage.started':
        this.stageEnv.set(e.stage, e.environment);
        this.enqueue(() => this.started(e.stage, e.environment, `${e.stage}: ${e.version} via ${e.strategy}`, e.url));
        break;
      case 'run.paused': {
        const env = this.stageEnv.get(e.stage);
        if (env) this.enqueue(() => this.status(env, 'in_progress', `${e.stage} paused at ${e.gate}: waiting for approval`));
        break;
      }
      case 'stage.finished': {
        const env = this.stageEnv.get(e.stage) ?? this.opts.stageEnvironments?.[e.stage];
        if (env && e.status !== 'paused' && e.status !== 'skipped') this.enqueue(() => this.finished(env, e.stage, e.status, e.message));
        break;
      }
      default:
        break;
    }
  };

  /** Resolves once every queued call has been made (or has failed and been reported). */
  settled(): Promise<void> {
    return this.queue;
  }

  ids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [env, s] of this.envs) if (s.id !== undefined) out[env] = s.id;
    return out;
  }

  private enqueue(call: () => Promise<void>): void {
    this.queue = this.queue.then(call).catch((err: unknown) => {
      if (this.warned) return;
      this.warned = true;
      this.opts.warn(`GitHub deployments are not updated: ${describeApiError(err, 'deployments: write')}. The rollout is not affected.`);
    });
  }

  private async started(stage: string, environment: string, description: string, url?: string): Promise<void> {
    const env: EnvState = this.envs.get(environment) ?? { stages: new Map(), done: false };
    this.envs.set(environment, env);
    env.stages.set(stage, 'running');
    env.done = false;
    if (url) env.url = url;
    env.id ??= this.opts.known?.[environment] ?? (this.opts.lookupExisting ? await this.find(environment) : undefined) ?? (await this.create(environment, description));
    if (env.id === undefined) return;
    this.opts.onDeployment?.(environment, env.id);
    await this.status(environment, 'in_progress', description);
  }

  private async finished(environment: string, stage: string, status: StageStatus, message?: string): Promise<void> {
    const env = this.envs.get(environment) ?? (await this.adopt(environment));
    if (!env || env.id === undefined) return;
    env.stages.set(stage, status);
    const statuses = [...env.stages.values()];
    if (env.done || statuses.some((s) => s === 'running' || s === 'paused')) return;
    env.done = true;
    const failedState = statuses.map((s) => FAILED[s]).find((s) => s !== undefined);
    if (failedState) {
      await this.status(environment, failedState, `${stage} ${status}${message ? `: ${message}` : ''}`);
      return;
    }
    await this.status(environment, 'success', `${[...env.stages.keys()].join(', ')} succeeded`);
    await this.deactivatePrevious(environment, env.id);
  }

  private async status(environment: string, state: DeploymentState, description: string): Promise<void> {
    const env = this.envs.get(environment);
    if (env?.id === undefined) return;
    const url = this.opts.environmentUrl ?? env.url;
    await this.opts.api.createStatus(env.id, state, {
      description,
      ...(url ? { environmentUrl: url } : {}),
      ...(this.opts.logUrl ? { logUrl: this.opts.logUrl } : {}),
    });
    this.lastId = env.id;
  }

  /** A stage that started before this process: its environment's deployment, if it has one. */
  private async adopt(environment: string): Promise<EnvState | undefined> {
    const id = this.opts.known?.[environment] ?? (this.opts.lookupExisting ? await this.find(environment) : undefined);
    if (id === undefined) return undefined;
    const env: EnvState = { id, stages: new Map(), done: false };
    this.envs.set(environment, env);
    return env;
  }

  /** The deployment of this run created by an earlier job (before a gate), if any. */
  private async find(environment: string): Promise<number | undefined> {
    const list = await this.opts.api.listDeployments(environment);
    return list.find((d) => runIdOf(d.payload) === this.runId)?.id;
  }

  private async create(environment: string, description: string): Promise<number | undefined> {
    const id = await this.opts.api.createDeployment({
      ref: this.opts.ref,
      environment,
      description,
      payload: { rollgate: { runId: this.runId, workflow: this.opts.workflow } },
    });
    if (id === undefined) this.opts.warn(`GitHub created no deployment for ${environment} (it answered without one); its statuses are not recorded`);
    return id;
  }

  /** Marks `inactive` the newest other deployment of the environment that was live (`success`). */
  private async deactivatePrevious(environment: string, current: number): Promise<void> {
    for (const d of await this.opts.api.listDeployments(environment)) {
      if (d.id === current) continue;
      const state = await this.opts.api.latestState(d.id);
      if (state !== 'success') continue;
      await this.opts.api.createStatus(d.id, 'inactive', { description: `replaced by deployment ${current} (rollgate run ${this.runId})` });
      return;
    }
  }
}

function runIdOf(payload: unknown): string | undefined {
  const value = typeof payload === 'string' ? safeJson(payload) : payload;
  const rollgate = (value as { rollgate?: { runId?: unknown } } | null)?.rollgate;
  return typeof rollgate?.runId === 'string' ? rollgate.runId : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
