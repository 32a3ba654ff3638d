/*
 * The state of the Container Apps double: apps and their revisions, progressed on the double's
 * clock when read. A revision provisions in `startMs`; an image tagged `bad` fails (the image
 * cannot be pulled), one tagged `slow` never finishes provisioning, one tagged `crash` provisions
 * and runs Degraded (its replicas exit); an environment `capacity`
 * (replicas across active revisions) short of a revision's minReplicas leaves it Degraded and
 * Unhealthy. In Single revision mode the latest ready revision takes all traffic and the others
 * are deactivated, as Container Apps does; in Multiple mode traffic is what the app says.
 */

export interface ContainerAppsOptions {
  now: () => number;
  /** How long a revision takes to provision (default 10 s). */
  startMs?: number;
  /** Replicas the environment can run across all active revisions (default: no limit). */
  capacity?: number;
  /** Images that cannot be pulled (default: tagged `bad`). */
  failing?: (image: string) => boolean;
  /** Images that never finish provisioning (default: tagged `slow`). */
  neverReady?: (image: string) => boolean;
  /** Images whose container exits once started: provisioned, its replicas failing, Degraded (default: tagged `crash`). */
  crashing?: (image: string) => boolean;
}

export interface TrafficEntry {
  revisionName?: string;
  latestRevision?: boolean;
  weight: number;
  label?: string;
}

export interface Template {
  revisionSuffix?: string;
  containers: { name: string; image: string; [k: string]: unknown }[];
  scale?: { minReplicas?: number; maxReplicas?: number };
  [k: string]: unknown;
}

export interface RevisionState {
  name: string;
  template: Template;
  createdAt: number;
  active: boolean;
  activatedAt: number;
}

export interface AppState {
  name: string;
  resourceGroup: string;
  location: string;
  environmentId: string;
  mode: 'Single' | 'Multiple';
  ingress: { external: boolean; targetPort: number; traffic: TrafficEntry[]; [k: string]: unknown };
  template: Template;
  revisions: RevisionState[];
  /** Revision-independent changes (traffic, mode) finish at this time. */
  busyUntil: number;
}

/** A revision as ARM reports it at `now`. */
export interface RevisionView {
  provisioningState: 'Provisioning' | 'Provisioned' | 'Failed';
  runningState: 'Processing' | 'Running' | 'Degraded' | 'Failed' | 'Stopped';
  healthState: 'Healthy' | 'Unhealthy' | 'None';
  replicas: number;
}

const tagged = (tag: string) => (image: string) => image.endsWith(`:${tag}`);

export class ContainerAppsWorld {
  readonly apps = new Map<string, AppState>();
  readonly startMs: number;
  capacity: number | undefined;
  private readonly failing: (image: string) => boolean;
  private readonly neverReady: (image: string) => boolean;
  private readonly crashing: (image: string) => boolean;

  constructor(readonly options: ContainerAppsOptions) {
    this.startMs = options.startMs ?? 10_000;
    this.capacity = options.capacity;
    this.failing = options.failing ?? tagged('bad');
    this.neverReady = options.neverReady ?? tagged('slow');
    this.crashing = options.crashing ?? tagged('crash');
  }

  now(): number {
    return this.options.now();
  }

  key(resourceGroup: string, name: string): string {
    return `${resourceGroup}/${name}`.toLowerCase();
  }

  get(resourceGroup: string, name: string): AppState | undefined {
    const app = this.apps.get(this.key(resourceGroup, name));
    if (app) this.settle(app);
    return app;
  }

  /** A new revision of `app` from `template` (its suffix, else a random one), provisioning from now. */
  addRevision(app: AppState, template: Template): RevisionState {
    const suffix = template.revisionSuffix || Math.random().toString(36).slice(2, 9);
    const revision = { name: `${app.name}--${suffix}`, template: structuredClone(template), createdAt: this.now(), active: true, activatedAt: this.now() };
    app.revisions.push(revision);
    return revision;
  }

  /** What ARM reports of a revision now. */
  view(_app: AppState, revision: RevisionState): RevisionView {
    if (!revision.active) return { provisioningState: this.failed(revision) ? 'Failed' : 'Provisioned', runningState: 'Stopped', healthState: 'None', replicas: 0 };
    if (this.failed(revision)) return { provisioningState: 'Failed', runningState: 'Failed', healthState: 'Unhealthy', replicas: 0 };
    if (this.images(revision).some(this.neverReady) || this.now() < revision.activatedAt + this.startMs) {
      return { provisioningState: 'Provisioning', runningState: 'Processing', healthState: 'None', replicas: 0 };
    }
    if (this.images(revision).some(this.crashing)) return { provisioningState: 'Provisioned', runningState: 'Degraded', healthState: 'Unhealthy', replicas: 0 };
    const want = Math.max(1, revision.template.scale?.minReplicas ?? 1);
    const replicas = Math.min(want, this.room(revision));
    if (replicas < want) return { provisioningState: 'Provisioned', runningState: 'Degraded', healthState: 'Unhealthy', replicas };
    return { provisioningState: 'Provisioned', runningState: 'Running', healthState: 'Healthy', replicas };
  }

  /** The traffic weight each revision receives now (latestRevision: the latest ready one). */
  weights(app: AppState): Map<string, number> {
    const out = new Map<string, number>();
    const latest = this.latestReady(app)?.name;
    for (const entry of app.ingress.traffic) {
      const name = entry.latestRevision ? latest : entry.revisionName;
      if (name) out.set(name, (out.get(name) ?? 0) + entry.weight);
    }
    return out;
  }

  latest(app: AppState): RevisionState | undefined {
    return app.revisions.at(-1);
  }

  latestReady(app: AppState): RevisionState | undefined {
    return [...app.revisions].reverse().find((r) => this.view(app, r).provisioningState === 'Provisioned' && r.active);
  }

  /** `Failed` when a revision failed, `InProgress` while one provisions or a change is applied, else `Succeeded`. */
  provisioningState(app: AppState): 'InProgress' | 'Succeeded' | 'Failed' {
    const latest = this.latest(app);
    const state = latest ? this.view(app, latest).provisioningState : 'Provisioned';
    if (state === 'Failed') return 'Failed';
    if (state === 'Provisioning' || this.now() < app.busyUntil) return 'InProgress';
    return 'Succeeded';
  }

  private failed(revision: RevisionState): boolean {
    return this.images(revision).some(this.failing);
  }

  private images(revision: RevisionState): string[] {
    return revision.template.containers.map((c) => c.image);
  }

  /** Replicas left for `revision` in the environment, after the active revisions created before it. */
  private room(revision: RevisionState): number {
    if (this.capacity === undefined) return Number.POSITIVE_INFINITY;
    let used = 0;
    for (const other of [...this.apps.values()].flatMap((a) => a.revisions.map((r) => ({ a, r })))) {
      if (other.r === revision) break;
      if (!other.r.active || this.failed(other.r)) continue;
      used += Math.max(1, other.r.template.scale?.minReplicas ?? 1);
    }
    return Math.max(0, this.capacity - used);
  }

  /** Single revision mode: the latest ready revision takes all traffic, the others are deactivated. */
  private settle(app: AppState): void {
    if (app.mode !== 'Single') return;
    const ready = this.latestReady(app);
    if (!ready) return;
    for (const r of app.revisions) if (r !== ready && r.createdAt < ready.createdAt) r.active = false;
  }
}
