import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cluster, type ClusterOptions, type KubeObject, type Pod } from './kubernetes/cluster.js';

/*
 * A local Kubernetes API server double for the real @kubernetes/client-node: the documented REST
 * paths of the subset rollgate uses, JSON in and out, with the API's semantics where a rollout
 * depends on them:
 * - objects under /api/v1/namespaces/NS/PLURAL and /apis/GROUP/VERSION/namespaces/NS/PLURAL
 *   (Deployments, Services, HorizontalPodAutoscalers, HTTPRoutes, VirtualServices, anything else
 *   stored as given): GET, list, POST (409 AlreadyExists), PUT and merge PATCH (409 Conflict when
 *   metadata.resourceVersion is not the stored one), DELETE;
 * - Deployments with a status that their controller progresses over the cluster's clock, and a
 *   progress deadline that can pass (cluster.ts); Nodes and Pods derived from them, read-only,
 *   with labelSelector and the fieldSelectors spec.nodeName and status.phase (= and !=); the
 *   status of other kinds only as a test's controller reports it (`cluster.reportStatus`, such as
 *   kubernetes/gateway-controller.ts for HTTPRoutes);
 * - a bearer token (401 without it), and faults on demand: any status with the API's `Status` body
 *   (Retry-After on 429), a request that never answers, a write by someone else between a read and
 *   a write (a real 409).
 * Not covered: watches, server-side apply, strategic merge patch, ReplicaSets, admission.
 */

export interface KubernetesServerOptions extends ClusterOptions {
  /** The bearer token requests must carry (default: none needed). */
  token?: string;
}

interface Fault {
  method?: string;
  path: RegExp;
  status?: number;
  retryAfter?: number;
  /** Never answers (the connection stays open until the client gives up). */
  hang?: boolean;
  /** Called when a request this fault holds arrives (the test knows the client now waits). */
  onArrival?: () => void;
  /** Someone else writes the object before this request is served (so a write meets 409). */
  concurrentWrite?: boolean;
  times: number;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

export class KubernetesServer {
  readonly cluster: Cluster;
  /** Every request served, in order. */
  readonly requests: { method: string; path: string }[] = [];
  private readonly faults: Fault[] = [];
  /** Resource types (plurals) the server does not serve, as when their CRD is not installed. */
  readonly notServed = new Set<string>();
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | undefined;
  token: string | undefined;
  url = '';

  constructor(options: KubernetesServerOptions = {}) {
    this.cluster = new Cluster(options);
    this.token = options.token;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A kubeconfig naming this server, with the token (when one is set), as context `double`. */
  kubeconfig(context = 'double', namespace = 'default'): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // The double speaks plain HTTP, which the library allows only with TLS verification off.
      clusters: [{ name: 'double', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'double', user: this.token ? { token: this.token } : {} }],
      contexts: [{ name: context, context: { cluster: 'double', user: 'double', namespace } }],
      'current-context': context,
    });
  }

  /** The next `times` requests matching answer with `status` and the API's Status body. */
  fail(path: RegExp, status: number, options: { method?: string; times?: number; retryAfter?: number } = {}): void {
    this.faults.push({ path, status, times: options.times ?? 1, ...(options.method ? { method: options.method } : {}), ...(options.retryAfter ? { retryAfter: options.retryAfter } : {}) });
  }

  /** The next `times` requests matching never answer; `onArrival` runs when one arrives. */
  hang(path: RegExp, options: { method?: string; times?: number; onArrival?: () => void } = {}): void {
    this.faults.push({
      path,
      hang: true,
      times: options.times ?? 1,
      ...(options.method ? { method: options.method } : {}),
      ...(options.onArrival ? { onArrival: options.onArrival } : {}),
    });
  }

  /** Before the next write (PUT unless told) matching, someone else updates the object: the write meets a real 409. */
  writeConcurrently(path: RegExp, options: { times?: number; method?: string } = {}): void {
    this.faults.push({ path, concurrentWrite: true, times: options.times ?? 1, method: options.method ?? 'PUT' });
  }

  /** Adds objects as `kubectl apply` left them a while ago: Deployments rolled out (no fault, no token). */
  seed(...objects: KubeObject[]): void {
    for (const o of objects) {
      const { kind, namespace, name } = describe(o);
      this.cluster.put(kind, namespace, name, o);
      if (kind === 'deployments') this.cluster.settle(namespace, name);
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname });
    const body = await readBody(req);
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) return status(res, 401, 'Unauthorized');
    const fault = this.faults.find((f) => f.times > 0 && f.path.test(url.pathname) && (f.method === undefined || f.method === method));
    if (fault) {
      fault.times -= 1;
      if (fault.hang) {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        fault.onArrival?.();
        return;
      }
      if (fault.concurrentWrite) this.touch(url.pathname);
      else return status(res, fault.status ?? 500, `injected fault: ${method} ${url.pathname}`, fault.retryAfter);
    }
    try {
      this.route(method, url, body, res);
    } catch (err) {
      status(res, 400, (err as Error).message);
    }
  }

  private touch(path: string): void {
    const at = parsePath(path);
    if (!at?.name) return;
    const current = this.cluster.get(at.plural, at.namespace ?? '', at.name);
    if (current) this.cluster.put(at.plural, at.namespace ?? '', at.name, { ...current, metadata: { ...current.metadata, annotations: { touched: String(Date.now()) } } });
  }

  private route(method: string, url: URL, body: string, res: ServerResponse): void {
    const at = parsePath(url.pathname);
    if (!at) return status(res, 404, `the server could not find the requested resource (${url.pathname})`);
    const { plural, namespace, name } = at;
    if (this.notServed.has(plural)) return status(res, 404, 'the server could not find the requested resource');
    if (plural === 'nodes' && method === 'GET') return json(res, 200, list('NodeList', this.nodes()));
    if (plural === 'pods' && method === 'GET') return json(res, 200, list('PodList', this.pods(namespace, url.searchParams)));
    if (namespace === undefined) return status(res, 405, `${method} ${url.pathname} is not served by this double`);
    const what = `${plural.replace(/s$/, '')} "${name ?? ''}"`;
    const existing = name ? this.cluster.get(plural, namespace, name) : undefined;
    switch (method) {
      case 'GET':
        if (!name) return json(res, 200, list(`${at.kind}List`, this.cluster.list(plural, namespace).filter(selects(url.searchParams.get('labelSelector')))));
        return existing ? json(res, 200, existing) : status(res, 404, `${plural}.${at.group || 'core'} "${name}" not found`);
      case 'POST': {
        const object = JSON.parse(body) as KubeObject;
        const created = String(object.metadata?.name ?? '');
        if (this.cluster.get(plural, namespace, created)) return status(res, 409, `${plural}.${at.group || 'core'} "${created}" already exists`, undefined, 'AlreadyExists');
        return json(res, 201, this.cluster.put(plural, namespace, created, object));
      }
      case 'PUT':
      case 'PATCH': {
        if (!name || !existing) return status(res, 404, `${plural}.${at.group || 'core'} "${name ?? ''}" not found`);
        const given = JSON.parse(body) as KubeObject;
        const version = given.metadata?.resourceVersion;
        if (version !== undefined && version !== existing.metadata?.resourceVersion) {
          return status(res, 409, `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`);
        }
        return json(res, 200, this.cluster.put(plural, namespace, name, method === 'PUT' ? given : (mergePatch(existing, given) as KubeObject)));
      }
      case 'DELETE':
        if (!name || !this.cluster.delete(plural, namespace, name)) return status(res, 404, `${plural}.${at.group || 'core'} "${name ?? ''}" not found`);
        return json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, kind: plural } });
      default:
        return status(res, 405, `${method} is not allowed`);
    }
  }

  private nodes(): KubeObject[] {
    return this.cluster.nodes.map((n) => ({
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name } },
      spec: {},
      status: {
        allocatable: { cpu: `${n.cpuMillis ?? 4_000}m`, memory: `${n.memoryMiB ?? 8_192}Mi`, pods: '110' },
        capacity: { cpu: `${n.cpuMillis ?? 4_000}m`, memory: `${n.memoryMiB ?? 8_192}Mi`, pods: '110' },
        conditions: [{ type: 'Ready', status: n.ready === false ? 'False' : 'True', reason: n.ready === false ? 'KubeletNotReady' : 'KubeletReady' }],
      },
    }));
  }

  private pods(namespace: string | undefined, query: URLSearchParams): KubeObject[] {
    return this.cluster
      .pods()
      .filter((p) => namespace === undefined || p.namespace === namespace)
      .map(podObject)
      .filter(selects(query.get('labelSelector')))
      .filter(fieldsMatch(query.get('fieldSelector')));
  }
}

function podObject(p: Pod): KubeObject {
  const phase = p.nodeName ? 'Running' : 'Pending';
  return {
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: {
      ...(p.nodeName ? { nodeName: p.nodeName } : {}),
      containers: [{ name: 'app', image: p.image, resources: { requests: { cpu: `${p.cpuMillis}m`, memory: `${p.memoryMiB}Mi` } } }],
    },
    status: {
      phase,
      conditions: [
        { type: 'PodScheduled', status: p.nodeName ? 'True' : 'False', ...(p.nodeName ? {} : { reason: 'Unschedulable', message: '0/2 nodes are available: Insufficient cpu.' }) },
        { type: 'Ready', status: p.ready ? 'True' : 'False' },
      ],
    },
  };
}

interface ParsedPath {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespace?: string;
  name?: string;
}

function parsePath(path: string): ParsedPath | undefined {
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?\/?$/.exec(path);
  if (!m) return undefined;
  const plural = m[5] as string;
  const kind = plural.replace(/(ies)$/, 'y').replace(/s$/, '');
  return {
    group: m[2] ?? '',
    version: (m[1] ?? m[3]) as string,
    kind: kind.charAt(0).toUpperCase() + kind.slice(1),
    plural,
    ...(m[4] ? { namespace: m[4] } : {}),
    ...(m[6] ? { name: m[6] } : {}),
  };
}

function describe(o: KubeObject): { kind: string; namespace: string; name: string } {
  const kind = String(o.kind ?? '').toLowerCase();
  const plural = kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`;
  return { kind: plural, namespace: String(o.metadata?.namespace ?? 'default'), name: String(o.metadata?.name) };
}

/** JSON merge patch (RFC 7386): objects merge, null deletes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Equality-based label selectors: `a=b,c!=d,e` (exists). */
function selects(selector: string | null): (o: KubeObject) => boolean {
  const terms = (selector ?? '').split(',').filter(Boolean);
  return (o) => {
    const labels = (o.metadata?.labels ?? {}) as Record<string, string>;
    return terms.every((t) => {
      const [k, v] = t.split(/!=|==?/) as [string, string | undefined];
      if (v === undefined) return k in labels;
      return t.includes('!=') ? labels[k] !== v : labels[k] === v;
    });
  };
}

function fieldsMatch(selector: string | null): (o: KubeObject) => boolean {
  const terms = (selector ?? '').split(',').filter(Boolean);
  const field = (o: KubeObject, path: string) => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
  return (o) =>
    terms.every((t) => {
      const [k, v] = t.split(/!=|==?/) as [string, string];
      const actual = String(field(o, k) ?? '');
      return t.includes('!=') ? actual !== v : actual === v;
    });
}

function list(kind: string, items: KubeObject[]): KubeObject {
  return { kind, apiVersion: 'v1', metadata: { resourceVersion: '1' }, items };
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, message: string, retryAfter?: number, reason = REASONS[code] ?? 'Unknown'): void {
  res.writeHead(code, { 'content-type': 'application/json', ...(retryAfter ? { 'retry-after': String(retryAfter) } : {}) });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', () => resolve(text));
  });
}
