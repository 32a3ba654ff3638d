import { ProviderError } from '../../errors.js';
import { CloudError } from '../../cloud/retrying.js';
import type { GcpApi, Operation } from '../../gcp/client.js';
import type { StepContext } from '../../ports/step-context.js';
import { formatLimit } from '../../util/command-runner.js';
import { type TrafficEntry, shortName } from './traffic.js';

/*
 * What rollgate does to one Cloud Run service over the Admin API v2: read it (and its revisions),
 * write it back whole, and wait for the long-running operation a write returns and for a revision's
 * Ready condition. The v2 Service's etag is output-only: an update does not check it, so a stale
 * write would simply win. Instead each write is followed by a read of the service's generation,
 * which every write raises by one: any other rise means someone else wrote it meanwhile, and the
 * step stops saying so. A 409 ABORTED (a concurrent change the API did refuse) is read again and
 * retried, a few times, logged.
 */

const CONFLICT_ATTEMPTS = 5;

export interface Container {
  name?: string;
  image?: string;
  [field: string]: unknown;
}

export interface RunServiceBody {
  name?: string;
  etag?: string;
  /** Raised by one on every write (int64, as a string). */
  generation?: string;
  template?: { revision?: string; containers?: Container[]; [field: string]: unknown };
  traffic?: TrafficEntry[];
  trafficStatuses?: (TrafficEntry & { uri?: string })[];
  latestReadyRevision?: string;
  latestCreatedRevision?: string;
  reconciling?: boolean;
  terminalCondition?: Condition;
  uri?: string;
  [field: string]: unknown;
}

export interface Condition {
  type?: string;
  state?: string;
  message?: string;
  reason?: string;
  revisionReason?: string;
}

export interface RevisionBody {
  name?: string;
  containers?: Container[];
  conditions?: Condition[];
  reconciling?: boolean;
}

export interface Where {
  project: string;
  region: string;
  service: string;
}

export interface Limits {
  intervalMs: number;
  timeoutMs: number;
}

/** The Cloud Run service of one target: reads, writes and waits. */
export class RunService {
  constructor(
    private readonly api: GcpApi,
    readonly where: Where,
    private readonly limits: Limits,
  ) {}

  get label(): string {
    return `Cloud Run service ${this.where.project}/${this.where.region}/${this.where.service}`;
  }

  private url(suffix = ''): string {
    const { project, region, service } = this.where;
    return `${this.api.base('run')}/v2/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(region)}/services/${encodeURIComponent(service)}${suffix}`;
  }

  /** The service, or `undefined` when it does not exist. */
  async read(ctx: StepContext): Promise<RunServiceBody | undefined> {
    try {
      return (await this.api.call<RunServiceBody>({ url: this.url(), what: `read the ${this.label}` }, ctx)).body;
    } catch (err) {
      if (err instanceof CloudError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** A revision, or `undefined` when it does not exist. */
  async revision(name: string, ctx: StepContext): Promise<RevisionBody | undefined> {
    try {
      return (await this.api.call<RevisionBody>({ url: this.url(`/revisions/${encodeURIComponent(name)}`), what: `read revision ${name} of the ${this.label}` }, ctx)).body;
    } catch (err) {
      if (err instanceof CloudError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Reads the service, changes it with `edit` (`undefined`: nothing to change) and writes it at
   * the etag read, then waits for the operation. Returns the service before and after the edit,
   * or `undefined` when it does not exist.
   */
  async write(edit: (s: RunServiceBody) => RunServiceBody | undefined, what: string, ctx: StepContext): Promise<{ before: RunServiceBody; after: RunServiceBody } | undefined> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.read(ctx);
      if (!before) return undefined;
      const after = edit(structuredClone(before));
      if (!after) return { before, after: before };
      let op: Operation;
      try {
        // The whole service as read (Cloud Run ignores its output-only fields): a PATCH without an
        // update mask replaces every field, so none may be left out.
        op = (await this.api.call<Operation>({ method: 'PATCH', url: this.url(), body: after, what: `${what} (update the ${this.label})` }, ctx)).body;
      } catch (err) {
        if (!(err instanceof CloudError) || err.status !== 409 || err.code === 'ALREADY_EXISTS' || attempt >= CONFLICT_ATTEMPTS) throw err;
        ctx.log.info(`cloud-run: the ${this.label} changed while rollgate wrote it (409 ${err.code ?? 'ABORTED'}, a concurrent change): reading it again (attempt ${attempt + 1} of ${CONFLICT_ATTEMPTS})`);
        continue;
      }
      await this.checkGeneration(before, what, ctx);
      await this.settle(op, what, ctx);
      return { before, after };
    }
  }

  /** Right after a write: the generation must be the one read plus one, else someone else wrote too (the etag protects nothing in v2). */
  private async checkGeneration(before: RunServiceBody, what: string, ctx: StepContext): Promise<void> {
    const read = Number(before.generation);
    if (!Number.isFinite(read)) return;
    const now = await this.read(ctx);
    const seen = Number(now?.generation);
    if (seen === read + 1) return;
    const { project, region, service } = this.where;
    throw new ProviderError(
      `cloud-run: someone else wrote the ${this.label} while rollgate did (${what}): it was at generation ${read} when rollgate read it and is at ${now ? seen : 'none (deleted)'} after rollgate's write, not ${read + 1}; Cloud Run keeps the last write whole, so one of the two changes may be lost: check it (gcloud run services describe ${service} --region ${region} --project ${project}) and run again`,
    );
  }

  /** Creates the service (a first deploy) and waits for it. */
  async create(body: RunServiceBody, ctx: StepContext): Promise<void> {
    const { project, region, service } = this.where;
    const url = `${this.api.base('run')}/v2/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(region)}/services`;
    const op = (await this.api.call<Operation>({ method: 'POST', url, query: { serviceId: service }, body, what: `create the ${this.label}` }, ctx)).body;
    await this.settle(op, `create the ${this.label}`, ctx);
  }

  /** Deletes the service and waits for it; `false` when it was not there. */
  async remove(ctx: StepContext): Promise<boolean> {
    let op: Operation;
    try {
      op = (await this.api.call<Operation>({ method: 'DELETE', url: this.url(), what: `delete the ${this.label}` }, ctx)).body;
    } catch (err) {
      if (err instanceof CloudError && err.status === 404) return false;
      throw err;
    }
    await this.settle(op, `delete the ${this.label}`, ctx);
    return true;
  }

  /** Waits until the operation is done; its error becomes a `ProviderError` with Cloud Run's own message. */
  async settle(op: Operation, what: string, ctx: StepContext): Promise<void> {
    const until = ctx.clock.now() + this.limits.timeoutMs;
    let current = op;
    while (!current.done) {
      if (ctx.clock.now() >= until) {
        throw new ProviderError(`cloud-run target: ${what}: the operation ${shortName(op.name)} did not finish within ${formatLimit(this.limits.timeoutMs)}; timeout waits longer`);
      }
      await ctx.clock.sleep(this.limits.intervalMs, ctx.signal);
      current = (await this.api.call<Operation>({ url: `${this.api.base('run')}/v2/${op.name}`, what: `read the operation of ${what}` }, ctx)).body;
    }
    if (current.error) throw new ProviderError(`cloud-run target: ${what} failed: ${current.error.message ?? `error ${current.error.code ?? 'unknown'}`}`);
  }

  /** Waits until the revision is Ready; its failed Ready condition becomes a `ProviderError` with the reason. */
  async awaitReady(name: string, ctx: StepContext): Promise<void> {
    const until = ctx.clock.now() + this.limits.timeoutMs;
    let said = '';
    for (;;) {
      const r = await this.revision(name, ctx);
      if (!r) throw new ProviderError(`cloud-run target: revision ${name} of the ${this.label} does not exist (deleted while rollgate waited for it)`);
      const ready = readyOf(r);
      if (ready.state === 'CONDITION_SUCCEEDED') return;
      if (ready.state === 'CONDITION_FAILED') throw notReady(this, name, ready);
      const message = ready.message ?? 'deploying';
      if (message !== said) ctx.log.info(`cloud-run: revision ${name}: ${message}`);
      said = message;
      if (ctx.clock.now() >= until) {
        throw new ProviderError(`cloud-run target: revision ${name} of the ${this.label} did not become ready within ${formatLimit(this.limits.timeoutMs)} (${message}); timeout waits longer`);
      }
      await ctx.clock.sleep(this.limits.intervalMs, ctx.signal);
    }
  }
}

/** The Ready condition of a revision (pending when it reports none yet). */
export function readyOf(r: RevisionBody): Condition {
  return r.conditions?.find((c) => c.type === 'Ready') ?? { type: 'Ready', state: 'CONDITION_PENDING' };
}

export function notReady(service: RunService, name: string, ready: Condition): ProviderError {
  const reason = ready.revisionReason ?? ready.reason;
  const { project, region } = service.where;
  return new ProviderError(
    `cloud-run target: revision ${name} of the ${service.label} failed to become ready${reason ? ` (${reason})` : ''}: ${ready.message ?? 'no message'}; see its logs (gcloud run revisions describe ${name} --region ${region} --project ${project})`,
  );
}
