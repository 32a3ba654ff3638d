import type * as K8s from '@kubernetes/client-node';
import { ProviderError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import { codeOf, kubeconfigFiles, kubeconfigProblem, statusOf, unserved } from './api-problems.js';
import type { KubernetesSettings } from './family.js';

/*
 * The Kubernetes API as rollgate's providers use it, through @kubernetes/client-node: its
 * KubeConfig (kubeconfig files, contexts, tokens, client certificates, exec and OIDC plugins, the
 * in-cluster service account) and its API clients over its own HTTP transport. Objects travel as
 * plain JSON, exactly as the API server sends them, so what a provider keeps in the journal (a pod
 * template, a selector) goes back unchanged: the apps, autoscaling and route groups go through the
 * library's generic CustomObjectsApi, which takes and returns plain objects; core objects
 * (Services, Nodes, Pods) through CoreV1Api.
 *
 * The library is about 2.5 MB of generated code: it loads on the first call of a run that uses
 * Kubernetes, never at start-up.
 */

/** A JSON object as the API serves it. */
export type KubeObject = Record<string, unknown> & { metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown } };

/** A namespaced resource of an API group. */
export interface Resource {
  group: string;
  version: string;
  plural: string;
  /** As messages name it: `Deployment`. */
  kind: string;
}

export const DEPLOYMENTS: Resource = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' };
export const HPAS: Resource = { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler' };
export const HTTPROUTES: Resource = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute' };
export const VIRTUALSERVICES: Resource = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', kind: 'VirtualService' };

let library: Promise<typeof K8s> | undefined;
const load = () => (library ??= import('@kubernetes/client-node'));

/** Where the in-cluster service account's files are (Kubernetes mounts them there). */
const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A connection to one cluster, as a workflow's `kubernetes` settings and the runner's environment name it. */
export class KubeClient {
  /** Marks each request as real work in progress (a virtual clock waits for it; see `on`). */
  private hold: <T>(work: Promise<T>) => Promise<T> = (work) => work;

  private constructor(
    private readonly custom: K8s.CustomObjectsApi,
    private readonly core: K8s.CoreV1Api,
    /** The namespace objects are in unless a provider names one. */
    readonly namespace: string,
    /** The cluster's API server, for messages. */
    readonly server: string,
  ) {}

  /**
   * Connects as `settings` say: `inCluster` (the pod's service account), else the kubeconfig file
   * of `settings.kubeconfig`, else KUBECONFIG's files, else ~/.kube/config, at `settings.context`
   * or the file's current context. Throws a ProviderError naming what is missing.
   */
  static async connect(settings: KubernetesSettings, env: Record<string, string>, workDir: string): Promise<KubeClient> {
    const lib = await load();
    const kc = new lib.KubeConfig();
    if (settings.inCluster) {
      const host = env.KUBERNETES_SERVICE_HOST;
      const port = env.KUBERNETES_SERVICE_PORT ?? '443';
      if (!host) throw new ProviderError('kubernetes: inCluster is set but KUBERNETES_SERVICE_HOST is not: rollgate is not running in a pod; use a kubeconfig instead');
      kc.loadFromOptions({
        clusters: [{ name: 'in-cluster', server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, caFile: `${SERVICE_ACCOUNT}/ca.crt`, skipTLSVerify: false }],
        users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: `${SERVICE_ACCOUNT}/token` } } }],
        contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }],
        currentContext: 'in-cluster',
      });
    } else {
      const files = kubeconfigFiles(settings, env, workDir);
      if (files.length === 0) {
        throw new ProviderError(
          `kubernetes: no kubeconfig: set kubernetes.kubeconfig in the workflow, or KUBECONFIG, or put one at ${env.HOME ? `${env.HOME}/.kube/config` : '~/.kube/config'} (or set inCluster: true in a pod)`,
        );
      }
      for (const [i, file] of files.entries()) {
        const one = i === 0 ? kc : new lib.KubeConfig();
        try {
          one.loadFromFile(file);
        } catch (err) {
          throw new ProviderError(`kubernetes: cannot read the kubeconfig ${file}: ${kubeconfigProblem(err)}`);
        }
        if (one !== kc) kc.mergeConfig(one, true);
      }
      if (settings.context !== undefined) {
        if (!kc.getContextObject(settings.context)) {
          const known = kc.getContexts().map((c) => c.name);
          throw new ProviderError(`kubernetes: context '${settings.context}' is not in ${files.join(', ')} (its contexts: ${known.join(', ') || 'none'})`);
        }
        kc.setCurrentContext(settings.context);
      }
      if (!kc.getCurrentCluster()) throw new ProviderError(`kubernetes: ${files.join(', ')} has no current context with a cluster; set kubernetes.context`);
    }
    const namespace = settings.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
    return new KubeClient(kc.makeApiClient(lib.CustomObjectsApi), kc.makeApiClient(lib.CoreV1Api), namespace, kc.getCurrentCluster()?.server ?? '');
  }

  /**
   * This connection with its requests held on `clock`: under a virtual clock (tests, the
   * simulation) time does not jump ahead while a request is on the wire.
   */
  on(clock: Clock): KubeClient {
    const view = Object.create(Object.getPrototypeOf(this) as object) as KubeClient;
    Object.assign(view, this);
    view.hold = clock.hold ? (work) => (clock.hold as NonNullable<Clock['hold']>)(work) : (work) => work;
    return view;
  }

  /** The object, or `undefined` when it does not exist. */
  async get(resource: Resource, namespace: string, name: string, signal: AbortSignal): Promise<KubeObject | undefined> {
    try {
      return (await this.hold(this.custom.getNamespacedCustomObject({ ...ref(resource, namespace), name }, this.options(signal)))) as KubeObject;
    } catch (err) {
      if (codeOf(err) === 404 && !unserved(err)) return undefined;
      if (codeOf(err) === 404) {
        throw new ProviderError(
          `kubernetes: cannot read ${resource.kind} ${namespace}/${name}: the API server does not serve ${resource.group}/${resource.version} ${resource.plural} (404: the server could not find the requested resource); install the CRDs that define it, or a version that serves ${resource.group}/${resource.version}`,
          { cause: err },
        );
      }
      throw this.error(err, `read ${resource.kind} ${namespace}/${name}`, signal);
    }
  }

  /** Every object of a resource in `namespace`, optionally by label selector. */
  async list(resource: Resource, namespace: string, labelSelector: string | undefined, signal: AbortSignal): Promise<KubeObject[]> {
    try {
      const answer = (await this.hold(this.custom.listNamespacedCustomObject({ ...ref(resource, namespace), ...(labelSelector ? { labelSelector } : {}) }, this.options(signal)))) as { items?: KubeObject[] };
      return answer.items ?? [];
    } catch (err) {
      throw this.error(err, `list ${resource.kind}s in ${namespace}`, signal);
    }
  }

  /**
   * Replaces the object with `body`, whose metadata.resourceVersion is the one it was read at: the
   * API refuses the write with 409 Conflict when someone changed it since (see `isConflict`).
   */
  async replace(resource: Resource, body: KubeObject, signal: AbortSignal): Promise<KubeObject> {
    const { namespace, name } = named(body);
    try {
      return (await this.hold(this.custom.replaceNamespacedCustomObject({ ...ref(resource, namespace), name, body }, this.options(signal)))) as KubeObject;
    } catch (err) {
      throw this.error(err, `update ${resource.kind} ${namespace}/${name}`, signal);
    }
  }

  async create(resource: Resource, body: KubeObject, signal: AbortSignal): Promise<KubeObject> {
    const { namespace, name } = named(body);
    try {
      return (await this.hold(this.custom.createNamespacedCustomObject({ ...ref(resource, namespace), body }, this.options(signal)))) as KubeObject;
    } catch (err) {
      throw this.error(err, `create ${resource.kind} ${namespace}/${name}`, signal);
    }
  }

  /** Deletes the object; `false` when it did not exist. */
  async remove(resource: Resource, namespace: string, name: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.hold(this.custom.deleteNamespacedCustomObject({ ...ref(resource, namespace), name }, this.options(signal)));
      return true;
    } catch (err) {
      if (codeOf(err) === 404) return false;
      throw this.error(err, `delete ${resource.kind} ${namespace}/${name}`, signal);
    }
  }

  /** A Service as plain JSON, or `undefined` when it does not exist. */
  async service(namespace: string, name: string, signal: AbortSignal): Promise<KubeObject | undefined> {
    try {
      return plain(await this.hold(this.core.readNamespacedService({ namespace, name }, this.options(signal))));
    } catch (err) {
      if (codeOf(err) === 404) return undefined;
      throw this.error(err, `read Service ${namespace}/${name}`, signal);
    }
  }

  /**
   * Sets a Service's selector, at the resourceVersion it was read at (409 when changed since): a
   * JSON merge patch of the selector alone (keys it drops set to null), so no other field of the
   * Service is written, even one this client's model does not know.
   */
  async setSelector(service: KubeObject, selector: Record<string, string>, signal: AbortSignal): Promise<void> {
    const { namespace, name } = named(service);
    const found = (((service.spec ?? {}) as { selector?: Record<string, string> }).selector ?? {}) as Record<string, string>;
    const patch: Record<string, string | null> = { ...Object.fromEntries(Object.keys(found).map((k) => [k, null])), ...selector };
    try {
      await this.hold(
        this.core.patchNamespacedService(
          { namespace, name, body: { metadata: { resourceVersion: service.metadata?.resourceVersion }, spec: { selector: patch } } },
          this.options(signal, 'application/merge-patch+json'),
        ),
      );
    } catch (err) {
      throw this.error(err, `update Service ${namespace}/${name}`, signal);
    }
  }

  async nodes(signal: AbortSignal): Promise<KubeObject[]> {
    try {
      return (await this.hold(this.core.listNode({}, this.options(signal)))).items.map(plain);
    } catch (err) {
      throw this.error(err, 'list Nodes', signal);
    }
  }

  /** Pods of every namespace (or one), by field and label selector. */
  async pods(query: { namespace?: string; fieldSelector?: string; labelSelector?: string }, signal: AbortSignal): Promise<KubeObject[]> {
    const selectors = { ...(query.fieldSelector ? { fieldSelector: query.fieldSelector } : {}), ...(query.labelSelector ? { labelSelector: query.labelSelector } : {}) };
    try {
      const answer = query.namespace
        ? await this.hold(this.core.listNamespacedPod({ namespace: query.namespace, ...selectors }, this.options(signal)))
        : await this.hold(this.core.listPodForAllNamespaces(selectors, this.options(signal)));
      return answer.items.map(plain);
    } catch (err) {
      throw this.error(err, `list Pods${query.namespace ? ` in ${query.namespace}` : ''}`, signal);
    }
  }

  /** Per-call options: the step's signal reaches the library's fetch, so an abort ends the request. */
  private options(signal: AbortSignal, contentType?: string): K8s.ConfigurationOptions {
    const now = <T>(value: T) => ({ toPromise: () => Promise.resolve(value) });
    return {
      middleware: [
        {
          pre: (request: K8s.RequestContext) => {
            request.setSignal(signal as unknown as Parameters<K8s.RequestContext['setSignal']>[0]);
            // The typed patch methods default to JSON Patch: a merge patch must say so.
            if (contentType) request.setHeaderParam('Content-Type', contentType);
            return now(request);
          },
          post: (response: K8s.ResponseContext) => now(response),
        },
      ],
      middlewareMergeStrategy: 'append',
    } as unknown as K8s.ConfigurationOptions;
  }

  /** An API or transport failure as a ProviderError naming the call, retryable where retrying can help. */
  private error(err: unknown, what: string, signal: AbortSignal): Error {
    if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new ProviderError(`kubernetes: ${what} was cancelled`);
    const code = codeOf(err);
    if (code === undefined) {
      const cause = err as { code?: string; message?: string; name?: string };
      // node-fetch's FetchError is the transport; anything else failed before a request was sent:
      // the kubeconfig's credentials (an exec plugin, an expired SSO login, a token file).
      if (cause.name !== 'FetchError') {
        return new ProviderError(
          `kubernetes: cannot ${what}: the credentials of the kubeconfig could not be obtained (${(cause.message ?? String(err)).trim().replace(/\s+/g, ' ')}); log in again, or check the user's exec plugin or token file`,
          { cause: err },
        );
      }
      const why = cause.code ? `${cause.code}` : (cause.message ?? String(err));
      return new ProviderError(`kubernetes: cannot ${what}: the API server ${this.server} is unreachable (${why})`, { retryable: true, cause: err });
    }
    const status = statusOf(err);
    const reason = status.reason ?? (code === 401 ? 'Unauthorized' : undefined);
    const hint =
      code === 401
        ? 'the credentials were refused (expired or wrong token or certificate): refresh the kubeconfig or the CI secret that writes it'
        : code === 403
          ? 'the credentials lack the permission: grant it to the user or service account (RBAC)'
          : code === 409
            ? reason === 'AlreadyExists'
              ? 'it exists already: someone else created it'
              : 'someone else changed it since it was read'
            : code === 429 || code >= 500
              ? 'the API server is overloaded or failing: retried'
              : undefined;
    const said = [status.message, hint].filter((part) => part !== undefined).join('; ');
    return new ProviderError(`kubernetes: cannot ${what} (${code}${reason ? ` ${reason}` : ''})${said ? `: ${said}` : ''}`, {
      retryable: code === 409 || code === 429 || code >= 500,
      cause: err,
    });
  }

  /** Whether `err` is the API's 409 Conflict (an optimistic-concurrency miss). */
  static isConflict(err: unknown): boolean {
    return err instanceof ProviderError && (codeOf(err.cause) === 409 || (err.cause as { code?: unknown } | undefined)?.code === 409);
  }
}

function ref(resource: Resource, namespace: string) {
  return { group: resource.group, version: resource.version, plural: resource.plural, namespace };
}

function named(body: KubeObject): { namespace: string; name: string } {
  return { namespace: String(body.metadata?.namespace ?? ''), name: String(body.metadata?.name ?? '') };
}

/** A typed object of the library as the JSON the API sent (dates back to text). */
function plain(value: unknown): KubeObject {
  return JSON.parse(JSON.stringify(value)) as KubeObject;
}
