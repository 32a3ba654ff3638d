/*
 * The cluster behind the Kubernetes API double (kubernetes-server.ts): objects by kind, with the
 * API's resourceVersion and generation, and a Deployment controller that progresses each rollout
 * over time as the real one reports it (observedGeneration, updated, ready and available replicas,
 * the Progressing condition and its deadline). Pods are derived from the Deployments and scheduled
 * first-fit onto the Nodes by their CPU and memory requests: a pod that fits nowhere is Pending,
 * so a version that asks for more than the cluster has never becomes available.
 */

/** A JSON object as the API serves it. */
export type KubeObject = Record<string, unknown> & { metadata?: Record<string, unknown> };

export interface NodeSpec {
  name: string;
  /** Allocatable CPU in millicores (default 4000) and memory in MiB (default 8192). */
  cpuMillis?: number;
  memoryMiB?: number;
  ready?: boolean;
}

export interface ClusterOptions {
  /** The cluster's clock, epoch ms (default Date.now): the tests give their virtual clock. */
  now?: () => number;
  /** How long a new pod takes to become ready (default 2,000 ms). */
  startMs?: number;
  /** Images whose pods start but never become ready (a crash loop, a failing readiness probe). */
  neverReady?: (image: string) => boolean;
  nodes?: NodeSpec[];
}

/** Where the Deployment controller is in a Deployment's rollout. */
interface Rollout {
  /** When the current pod template (or replica count) was set. */
  since: number;
  /** New pods already ready then (a scale-only change keeps them). */
  readyBase: number;
  /** Pods of the previous template, serving until the new ones are all ready. */
  oldPods: number;
  oldTemplate: Template | undefined;
  done: boolean;
}

export interface Pod {
  namespace: string;
  name: string;
  owner: string;
  labels: Record<string, string>;
  image: string;
  nodeName?: string;
  cpuMillis: number;
  memoryMiB: number;
  ready: boolean;
  /** A pod of the template before the rollout in progress. */
  old: boolean;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

export class Cluster {
  private version = 1;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly rollouts = new Map<string, Rollout>();
  readonly now: () => number;
  readonly startMs: number;
  readonly nodes: NodeSpec[];
  private readonly neverReady: (image: string) => boolean;
  private readonly reporters = new Map<string, (object: KubeObject) => Record<string, unknown> | undefined>();

  constructor(options: ClusterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.startMs = options.startMs ?? 2_000;
    this.neverReady = options.neverReady ?? (() => false);
    this.nodes = options.nodes ?? [{ name: 'node-1' }, { name: 'node-2' }];
  }

  private kind(kind: string): Map<string, KubeObject> {
    let objects = this.objects.get(kind);
    if (!objects) this.objects.set(kind, (objects = new Map()));
    return objects;
  }

  list(kind: string, namespace?: string): KubeObject[] {
    const pods = kind === 'deployments' ? this.pods() : [];
    return [...this.kind(kind).values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace).map((o) => this.view(kind, o, pods));
  }

  get(kind: string, namespace: string, name: string): KubeObject | undefined {
    const found = this.kind(kind).get(key(namespace, name));
    return found ? this.view(kind, found, kind === 'deployments' ? this.pods() : []) : undefined;
  }

  /** Stores `object` (create or update), bumping resourceVersion, and generation when the spec changed. */
  put(kind: string, namespace: string, name: string, object: KubeObject): KubeObject {
    const previous = this.kind(kind).get(key(namespace, name));
    const specChanged = JSON.stringify(previous?.spec) !== JSON.stringify(object.spec);
    const generation = (previous?.metadata?.generation as number | undefined) ?? 0;
    const stored: KubeObject = {
      ...structuredClone(object),
      metadata: {
        ...structuredClone(object.metadata ?? {}),
        name,
        namespace,
        uid: previous?.metadata?.uid ?? `uid-${kind}-${this.version}`,
        creationTimestamp: previous?.metadata?.creationTimestamp ?? new Date(this.now()).toISOString(),
        resourceVersion: String(++this.version),
        generation: specChanged ? generation + 1 : generation,
      },
    };
    delete stored.status;
    if (kind === 'deployments' && specChanged) this.restart(namespace, name, previous, stored);
    this.kind(kind).set(key(namespace, name), stored);
    return this.get(kind, namespace, name) as KubeObject;
  }

  /** A Deployment whose rollout finished long ago (objects seeded as `kubectl apply` left them). */
  settle(namespace: string, name: string): void {
    this.rollouts.delete(key(namespace, name));
  }

  /**
   * Has `report` write the status of every object of `kind` (a plural: `httproutes`) as the
   * object's controller would, from the object as stored (its generation included), at each read:
   * a Gateway's verdict on a route. Kinds without a reporter (Deployments aside) keep no status:
   * the double drops what a client writes there, as the API does for a status subresource.
   * `undefined` stops reporting.
   */
  reportStatus(kind: string, report: ((object: KubeObject) => Record<string, unknown> | undefined) | undefined): void {
    if (report) this.reporters.set(kind, report);
    else this.reporters.delete(kind);
  }

  delete(kind: string, namespace: string, name: string): boolean {
    if (kind === 'deployments') this.rollouts.delete(key(namespace, name));
    return this.kind(kind).delete(key(namespace, name));
  }

  /** A Deployment's spec changed: its controller starts a rollout (new template) or a rescale. */
  private restart(namespace: string, name: string, previous: KubeObject | undefined, next: KubeObject): void {
    const k = key(namespace, name);
    const before = this.rollouts.get(k);
    const ready = previous ? this.pods().filter((p) => p.owner === name && p.namespace === namespace && !p.old && p.ready).length : 0;
    const pending = before && !before.done ? before : undefined;
    if (previous && JSON.stringify(templateOf(previous)) === JSON.stringify(templateOf(next))) {
      this.rollouts.set(k, { since: this.now(), readyBase: Math.min(ready, replicasOf(next)), oldPods: pending?.oldPods ?? 0, oldTemplate: pending?.oldTemplate, done: false });
      return;
    }
    // The pods that serve now keep serving until the new ones are ready (a rolling update with surge).
    const keepOld = pending !== undefined && pending.oldPods > ready;
    this.rollouts.set(k, {
      since: this.now(),
      readyBase: 0,
      oldPods: keepOld ? pending.oldPods : ready,
      oldTemplate: keepOld ? pending.oldTemplate : previous ? templateOf(previous) : undefined,
      done: false,
    });
  }

  /**
   * Every pod, derived from the Deployments: the old template's pods of a rollout in progress hold
   * their places, then each Deployment's pods are scheduled first-fit in creation order. A rollout
   * whose new pods are all ready is done, and its old pods go.
   */
  pods(): Pod[] {
    const free = new Map(this.nodes.filter((n) => n.ready !== false).map((n) => [n.name, { cpu: n.cpuMillis ?? 4_000, mem: n.memoryMiB ?? 8_192 }]));
    const pods: Pod[] = [];
    const place = (pod: Omit<Pod, 'ready' | 'nodeName'>, started: boolean) => {
      const node = [...free].find(([, f]) => f.cpu >= pod.cpuMillis && f.mem >= pod.memoryMiB);
      if (node) {
        node[1].cpu -= pod.cpuMillis;
        node[1].mem -= pod.memoryMiB;
      }
      pods.push({ ...pod, ready: node !== undefined && started && !this.neverReady(pod.image), ...(node ? { nodeName: node[0] } : {}) });
    };
    const deployments = [...this.kind('deployments').values()].sort((a, b) => String(a.metadata?.uid).localeCompare(String(b.metadata?.uid), 'en', { numeric: true }));
    const named = (d: KubeObject) => ({ namespace: String(d.metadata?.namespace), name: String(d.metadata?.name) });
    for (const d of deployments) {
      const { namespace, name } = named(d);
      const r = this.rollouts.get(key(namespace, name));
      if (!r || r.done || !r.oldTemplate) continue;
      for (let i = 0; i < r.oldPods; i++) place(podOf(namespace, `${name}-old-${i}`, name, r.oldTemplate, true), true);
    }
    for (const d of deployments) {
      const { namespace, name } = named(d);
      const r = this.rollouts.get(key(namespace, name));
      const started = !r || this.now() - r.since >= this.startMs;
      for (let i = 0; i < replicasOf(d); i++) place(podOf(namespace, `${name}-${i}`, name, templateOf(d), false), started || i < (r?.readyBase ?? 0));
    }
    for (const d of deployments) {
      const { namespace, name } = named(d);
      const r = this.rollouts.get(key(namespace, name));
      const mine = pods.filter((p) => p.owner === name && p.namespace === namespace);
      if (r && !r.done && mine.filter((p) => !p.old).every((p) => p.ready)) r.done = true;
    }
    return pods.filter((p) => !p.old || !this.rollouts.get(key(p.namespace, p.owner))?.done);
  }

  /** The object with the status its controller reports now. */
  private view(kind: string, object: KubeObject, pods: Pod[]): KubeObject {
    const copy = structuredClone(object);
    if (kind === 'deployments') copy.status = this.deploymentStatus(object, pods);
    const reported = this.reporters.get(kind)?.(copy);
    if (reported) copy.status = reported;
    return copy;
  }

  private deploymentStatus(d: KubeObject, pods: Pod[]): Record<string, unknown> {
    const namespace = String(d.metadata?.namespace);
    const name = String(d.metadata?.name);
    const r = this.rollouts.get(key(namespace, name));
    const replicas = replicasOf(d);
    const mine = pods.filter((p) => p.owner === name && p.namespace === namespace);
    const ready = mine.filter((p) => !p.old && p.ready).length;
    const old = mine.filter((p) => p.old).length;
    const done = !r || r.done;
    const deadlineMs = ((d.spec as { progressDeadlineSeconds?: number }).progressDeadlineSeconds ?? 600) * 1000;
    const at = new Date(this.now()).toISOString();
    const progressing = done
      ? { status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.` }
      : this.now() - r.since > deadlineMs
        ? { status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.` }
        : { status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.` };
    return {
      observedGeneration: d.metadata?.generation,
      replicas: replicas + old,
      updatedReplicas: replicas,
      readyReplicas: ready + old,
      availableReplicas: ready + old,
      ...(replicas - ready > 0 ? { unavailableReplicas: replicas - ready } : {}),
      conditions: [
        { type: 'Available', status: ready + old >= replicas ? 'True' : 'False', lastUpdateTime: at },
        { type: 'Progressing', ...progressing, lastUpdateTime: at },
      ],
    };
  }
}

interface Template {
  metadata?: { labels?: Record<string, string> };
  spec?: { containers?: Array<{ image?: string; resources?: { requests?: { cpu?: string; memory?: string } } }> };
}

const replicasOf = (d: KubeObject) => (d.spec as { replicas?: number }).replicas ?? 1;
const templateOf = (d: KubeObject) => (d.spec as { template: Template }).template;
const imageOf = (t: Template) => t.spec?.containers?.[0]?.image ?? '';

function podOf(namespace: string, name: string, owner: string, template: Template, old: boolean): Omit<Pod, 'ready' | 'nodeName'> {
  let cpuMillis = 0;
  let memoryMiB = 0;
  for (const c of template.spec?.containers ?? []) {
    cpuMillis += cpu(c.resources?.requests?.cpu);
    memoryMiB += memory(c.resources?.requests?.memory);
  }
  return { namespace, name, owner, old, labels: { ...(template.metadata?.labels ?? {}) }, image: imageOf(template), cpuMillis, memoryMiB };
}

/** "500m" or "2" CPUs in millicores. */
export function cpu(q: string | undefined): number {
  if (!q) return 0;
  return q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000;
}

/** "256Mi", "1Gi" or bytes in MiB. */
export function memory(q: string | undefined): number {
  if (!q) return 0;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (!m) return 0;
  const n = Number(m[1]);
  const unit = { Ki: 1 / 1024, Mi: 1, Gi: 1024, K: 1000 / 1_048_576, M: 1_000_000 / 1_048_576, G: 1e9 / 1_048_576 }[m[2] ?? ''] ?? 1 / 1_048_576;
  return n * unit;
}
