import type { KubernetesServer } from '../kubernetes-server.js';
import type { KubeObject } from './cluster.js';

/** What a test steers of the Gateway controller `gatewayController` starts. */
export interface GatewayController {
  /**
   * While true the controller reconciles nothing: each route keeps the status it had (the
   * generation it saw last), and a route it never saw has none. A busy or restarting controller.
   */
  paused: boolean;
  /** When set, every parent refuses each route it reconciles: `Accepted` False with this reason and message. */
  refusal: { reason: string; message: string } | undefined;
  /**
   * How long, on the cluster's clock, a new generation of a route waits before it is reconciled,
   * counted from the first read that shows it (default 0: at once); a route read for the first
   * time counts as reconciled long ago.
   */
  lagMs: number;
}

interface BackendRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

/**
 * A Gateway controller for the API double: at each read of an HTTPRoute it reports the route's
 * status as Gateway API implementations do, one `status.parents[]` entry per parentRef, with
 * `Accepted` (True unless `refusal` says otherwise) and `ResolvedRefs` (False, reason
 * `BackendNotFound`, when a backendRef names a Service the double lacks), each condition stamped
 * with the generation it was reconciled for, `lagMs` after it appeared. What a real controller does
 * to traffic is not modelled.
 */
export function gatewayController(server: KubernetesServer, controllerName = 'example.net/gateway-controller'): GatewayController {
  const control: GatewayController = { paused: false, refusal: undefined, lagMs: 0 };
  const reported = new Map<string, Record<string, unknown>>();
  const seen = new Map<string, { generation: unknown; at: number }>();
  server.cluster.reportStatus('httproutes', (route) => {
    const namespace = String(route.metadata?.namespace);
    const key = `${namespace}/${String(route.metadata?.name)}`;
    const now = server.cluster.now();
    // A route seen for the first time was there before: reconciled long ago.
    const before = seen.get(key);
    if (before?.generation !== route.metadata?.generation) seen.set(key, { generation: route.metadata?.generation, at: before ? now : Number.NEGATIVE_INFINITY });
    const due = now - (seen.get(key)?.at ?? now) >= control.lagMs;
    if (!control.paused && due) reported.set(key, reconcile(route, namespace));
    return reported.get(key);
  });

  function reconcile(route: KubeObject, namespace: string): Record<string, unknown> {
    const generation = route.metadata?.generation as number;
    const at = new Date(server.cluster.now()).toISOString();
    const spec = (route.spec ?? {}) as { parentRefs?: unknown[]; rules?: Array<{ backendRefs?: BackendRef[] }> };
    const missing = (spec.rules ?? [])
      .flatMap((r) => r.backendRefs ?? [])
      .filter((b) => (b.kind ?? 'Service') === 'Service' && (b.group ?? '') === '')
      .map((b) => `${b.namespace ?? namespace}/${b.name ?? ''}`)
      .filter((ref) => {
        const [ns, name] = ref.split('/') as [string, string];
        return server.cluster.get('services', ns, name) === undefined;
      });
    const condition = (type: string, ok: boolean, reason: string, message: string) => ({
      type,
      status: ok ? 'True' : 'False',
      reason,
      message,
      observedGeneration: generation,
      lastTransitionTime: at,
    });
    const refusal = control.refusal;
    return {
      parents: (spec.parentRefs ?? []).map((parentRef) => ({
        parentRef,
        controllerName,
        conditions: [
          refusal ? condition('Accepted', false, refusal.reason, refusal.message) : condition('Accepted', true, 'Accepted', 'Route is accepted'),
          missing.length > 0
            ? condition('ResolvedRefs', false, 'BackendNotFound', `Service ${missing.join(', ')} not found`)
            : condition('ResolvedRefs', true, 'ResolvedRefs', 'Resolved all the Object references for the Route'),
        ],
      })),
    };
  }

  return control;
}
