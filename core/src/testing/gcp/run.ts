import { randomBytes } from 'node:crypto';
import { GoogleFault, invalid, notFound } from './errors.js';

/*
 * Cloud Run Admin API v2 as the double keeps it: services with a template and a traffic spec,
 * immutable revisions that become Ready over the double's clock (or fail: an image tagged `bad`
 * fails its health check; one tagged `slow` takes an hour), long-running operations that are done
 * once what they wait for is, and trafficStatuses that follow the spec only when its operation
 * succeeded (a failed revision leaves the traffic that was served). etag is output-only and never
 * checked; generation rises by one on every write. LATEST in the traffic spec means the latest Ready revision, as Cloud Run reads it.
 */

export type Json = Record<string, unknown>;

export interface TrafficEntry {
  type?: string;
  revision?: string;
  percent?: number;
  tag?: string;
}

interface Revision {
  id: string;
  createdAt: number;
  settlesAt: number;
  template: Json;
  failure?: { reason: string; message: string };
}

interface Operation {
  id: string;
  doneAt: number;
  error?: { code: number; message: string };
  service: RunService;
}

export interface RunService {
  project: string;
  location: string;
  id: string;
  generation: number;
  etag: string;
  template: Json;
  traffic: TrafficEntry[];
  /** What serves now, and what will once the last operation is done. */
  served: TrafficEntry[];
  next?: { at: number; traffic: TrafficEntry[]; failed: boolean; message?: string };
  revisions: Revision[];
  deleted?: boolean;
}

export const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
export const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

export interface RunOptions {
  now: () => number;
  /** How long a revision takes to become Ready (default 5 s). */
  startMs?: number;
  /** How long a traffic-only change takes to be served (default 1 s). */
  trafficMs?: number;
}

export class CloudRun {
  readonly services = new Map<string, RunService>();
  private readonly operations = new Map<string, Operation>();
  /** The next operations fail with this message (a quota, an internal error), once each. */
  readonly failures: string[] = [];
  private readonly startMs: number;
  private readonly trafficMs: number;

  constructor(private readonly options: RunOptions) {
    this.startMs = options.startMs ?? 5_000;
    this.trafficMs = options.trafficMs ?? 1_000;
  }

  private now(): number {
    return this.options.now();
  }

  /** A service deployed a while ago: one Ready revision `${id}-00001-abc` with all the traffic. */
  seed(project: string, location: string, id: string, image: string, traffic?: TrafficEntry[]): RunService {
    const revision = `${id}-00001-abc`;
    const template = { revision, containers: [{ name: 'app', image }], scaling: { maxInstanceCount: 10 } };
    const service: RunService = {
      project,
      location,
      id,
      generation: 1,
      etag: etag(),
      template,
      traffic: traffic ?? [{ type: LATEST, percent: 100 }],
      served: [],
      revisions: [{ id: revision, createdAt: this.now() - 60_000, settlesAt: this.now() - 55_000, template }],
    };
    service.served = this.resolve(service, service.traffic);
    this.services.set(key(project, location, id), service);
    return service;
  }

  get(project: string, location: string, id: string): RunService {
    const s = this.services.get(key(project, location, id));
    if (!s || s.deleted) throw notFound(`Resource 'projects/${project}/locations/${location}/services/${id}'`);
    this.settle(s);
    return s;
  }

  /** POST …/services?serviceId=S */
  create(project: string, location: string, id: string, body: Json): Json {
    const existing = this.services.get(key(project, location, id));
    if (existing && !existing.deleted) throw new GoogleFault(409, 'ALREADY_EXISTS', `Resource 'projects/${project}/locations/${location}/services/${id}' already exists.`);
    const service: RunService = { project, location, id, generation: 0, etag: etag(), template: {}, traffic: [], served: [], revisions: [] };
    this.services.set(key(project, location, id), service);
    return this.update(service, { traffic: [{ type: LATEST, percent: 100 }], ...body });
  }

  /** PATCH …/services/S: a new template makes a revision; the traffic spec is served once the operation is done. */
  update(service: RunService, body: Json): Json {
    // etag is output-only in the v2 Service: an update ignores it (a stale write wins), as Cloud Run does.
    const template = (body.template as Json | undefined) ?? service.template;
    const traffic = ((body.traffic as TrafficEntry[] | undefined) ?? service.traffic).map((t) => ({ ...t }));
    const made = this.revisionFor(service, template);
    this.validate(service, traffic, made);
    if (made) service.revisions.push(made);
    service.template = { ...template, ...(made ? { revision: made.id } : {}) };
    service.traffic = traffic;
    service.generation += 1;
    service.etag = etag();
    // Served once every revision taking traffic (and the new one) is Ready; a failed one fails the operation.
    // LATEST waits for the revision this update makes, when it makes one (it is the latest once Ready).
    const serving = traffic.filter((t) => (t.percent ?? 0) > 0).map((t) => (t.type === LATEST ? (made?.id ?? this.latestReady(service)?.id) : t.revision));
    const waiting = [...new Set([...(made ? [made.id] : []), ...serving])];
    const revisions = waiting.flatMap((id) => service.revisions.filter((r) => r.id === id));
    const failed = revisions.find((r) => r.failure);
    const at = Math.max(this.now() + this.trafficMs, ...revisions.map((r) => r.settlesAt));
    const injected = this.failures.shift();
    const message = failed
      ? `Revision '${failed.id}' is not ready and cannot serve traffic. ${failed.failure?.message ?? ''}`.trim()
      : injected;
    service.next = { at, traffic, failed: message !== undefined, ...(message !== undefined ? { message } : {}) };
    return this.operation(service, at, message);
  }

  /** DELETE …/services/S */
  remove(service: RunService): Json {
    service.deleted = true;
    return this.operation(service, this.now() + this.trafficMs, undefined);
  }

  private operation(service: RunService, doneAt: number, failure: string | undefined): Json {
    const id = randomBytes(8).toString('hex');
    const op: Operation = { id, doneAt, service, ...(failure !== undefined ? { error: { code: 9, message: failure } } : {}) };
    this.operations.set(id, op);
    return this.operationView(op);
  }

  getOperation(project: string, location: string, id: string): Json {
    const op = this.operations.get(id);
    if (!op || op.service.project !== project || op.service.location !== location) throw notFound(`Operation 'projects/${project}/locations/${location}/operations/${id}'`);
    return this.operationView(op);
  }

  private operationView(op: Operation): Json {
    const done = this.now() >= op.doneAt;
    const name = `projects/${op.service.project}/locations/${op.service.location}/operations/${op.id}`;
    const metadata = { '@type': 'type.googleapis.com/google.cloud.run.v2.Service', name: serviceName(op.service) };
    if (!done) return { name, metadata, done: false };
    if (op.error) return { name, metadata, done: true, error: op.error };
    return { name, metadata, done: true, response: { '@type': 'type.googleapis.com/google.cloud.run.v2.Service', ...(op.service.deleted ? {} : this.view(op.service)) } };
  }

  /** The revision a new template makes, or none when the template is the one that runs. */
  private revisionFor(service: RunService, template: Json): Revision | undefined {
    const { revision: name, ...rest } = template as Json & { revision?: string };
    const same = (r: Revision) => canonical(withoutName(r.template)) === canonical(rest);
    if (typeof name === 'string') {
      const existing = service.revisions.find((r) => r.id === name);
      if (existing && !same(existing)) throw new GoogleFault(409, 'ALREADY_EXISTS', `Revision named '${name}' with different configuration already exists.`);
      if (existing) return undefined;
      if (!name.startsWith(`${service.id}-`)) throw invalid(`Revision name '${name}' must be prefixed by the service name '${service.id}-'.`);
    } else if (service.revisions.some((r) => r.id === String(service.template.revision) && same(r))) return undefined;
    const id = typeof name === 'string' ? name : `${service.id}-${String(service.generation + 1).padStart(5, '0')}-${randomBytes(2).toString('hex').slice(0, 3)}`;
    const image = String(((rest.containers as Json[] | undefined)?.[0] ?? {}).image ?? '');
    const now = this.now();
    if (image.endsWith(':bad')) {
      const message = `The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable within the allocated timeout. Logs for this revision might contain more information.`;
      return { id, createdAt: now, settlesAt: now + this.startMs, template: { ...rest, revision: id }, failure: { reason: 'HEALTH_CHECK_CONTAINER_ERROR', message } };
    }
    return { id, createdAt: now, settlesAt: now + (image.endsWith(':slow') ? 3_600_000 : this.startMs), template: { ...rest, revision: id } };
  }

  private validate(service: RunService, traffic: TrafficEntry[], made: Revision | undefined): void {
    const total = traffic.reduce((n, t) => n + (t.percent ?? 0), 0);
    if (traffic.length > 0 && total !== 100) throw invalid(`Traffic percentages must sum to 100, but they sum to ${total}.`);
    const tags = traffic.flatMap((t) => (t.tag ? [t.tag] : []));
    if (new Set(tags).size !== tags.length) throw invalid('Traffic tags must be unique.');
    const long = tags.find((tag) => tag.length + service.id.length > 46);
    if (long !== undefined) throw invalid(`Combined traffic tag and service name cannot exceed 46 characters (tag '${long}', service '${service.id}').`);
    for (const t of traffic) {
      if (!Number.isInteger(t.percent ?? 0) || (t.percent ?? 0) < 0) throw invalid(`Traffic percent must be a whole number from 0 to 100.`);
      if (t.type === LATEST) continue;
      if (t.type !== REVISION) throw invalid(`Traffic target type must be TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION or _LATEST.`);
      if (!t.revision || !(service.revisions.some((r) => r.id === t.revision) || made?.id === t.revision)) throw invalid(`Revision named '${t.revision ?? ''}' does not exist.`);
    }
  }

  /** Applies what came due: an operation done serves its traffic spec, or leaves the traffic served. */
  private settle(service: RunService): void {
    if (service.next && this.now() >= service.next.at) {
      if (!service.next.failed) service.served = this.resolve(service, service.next.traffic);
      service.next = { ...service.next, at: Number.POSITIVE_INFINITY };
    }
  }

  /** A traffic spec with LATEST as the revision it means now. */
  private resolve(service: RunService, traffic: TrafficEntry[]): TrafficEntry[] {
    const latest = this.latestReady(service);
    return traffic.map((t) => (t.type === LATEST ? { ...t, revision: latest?.id ?? '' } : { ...t }));
  }

  private ready(r: Revision): boolean {
    return !r.failure && this.now() >= r.settlesAt;
  }

  private latestReady(service: RunService): Revision | undefined {
    return [...service.revisions].reverse().find((r) => this.ready(r));
  }

  view(service: RunService): Json {
    this.settle(service);
    const name = serviceName(service);
    const latestReady = this.latestReady(service);
    const latestCreated = service.revisions.at(-1);
    const pending = service.next !== undefined && Number.isFinite(service.next.at);
    const failed = service.next?.failed && !pending;
    return {
      name,
      uid: `uid-${service.id}`,
      generation: String(service.generation),
      observedGeneration: String(pending ? service.generation - 1 : service.generation),
      etag: service.etag,
      template: service.template,
      traffic: service.traffic,
      uri: `https://${service.id}-double.a.run.app`,
      reconciling: pending,
      latestReadyRevision: latestReady ? `${name}/revisions/${latestReady.id}` : undefined,
      latestCreatedRevision: latestCreated ? `${name}/revisions/${latestCreated.id}` : undefined,
      terminalCondition: failed
        ? { type: 'Ready', state: 'CONDITION_FAILED', message: service.next?.message }
        : { type: 'Ready', state: pending ? 'CONDITION_RECONCILING' : 'CONDITION_SUCCEEDED' },
      trafficStatuses: service.served.map((t) => ({
        type: REVISION,
        revision: t.revision,
        percent: t.percent ?? 0,
        ...(t.tag ? { tag: t.tag, uri: `https://${t.tag}---${service.id}-double.a.run.app` } : {}),
      })),
    };
  }

  revisionView(service: RunService, id: string): Json {
    const r = service.revisions.find((x) => x.id === id);
    if (!r) throw notFound(`Resource '${serviceName(service)}/revisions/${id}'`);
    const now = this.now();
    const condition =
      now < r.settlesAt
        ? { type: 'Ready', state: 'CONDITION_RECONCILING', revisionReason: 'PENDING', message: 'Deploying revision.' }
        : r.failure
          ? { type: 'Ready', state: 'CONDITION_FAILED', revisionReason: r.failure.reason, message: r.failure.message }
          : { type: 'Ready', state: 'CONDITION_SUCCEEDED' };
    // A revision carries its template's fields (containers, scaling, volumes, …) at its top level, as in v2.
    return {
      ...withoutName(r.template),
      name: `${serviceName(service)}/revisions/${r.id}`,
      service: serviceName(service),
      createTime: new Date(r.createdAt).toISOString(),
      containers: (r.template.containers as unknown[] | undefined) ?? [],
      reconciling: now < r.settlesAt,
      conditions: [condition],
    };
  }
}

const key = (project: string, location: string, id: string) => `${project}/${location}/${id}`;
const serviceName = (s: RunService) => `projects/${s.project}/locations/${s.location}/services/${s.id}`;
const etag = () => `"${randomBytes(9).toString('base64url')}"`;
const withoutName = (template: Json) => {
  const { revision, ...rest } = template;
  void revision;
  return rest;
};

/** JSON with sorted keys: two templates are the same whatever order their fields came in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as Json)
      .sort()
      .filter((k) => (value as Json)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
