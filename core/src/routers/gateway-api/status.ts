import { ProviderError } from '../../errors.js';
import type { KubeObject } from '../../kubernetes/client.js';

/*
 * Whether the Gateways an HTTPRoute is attached to serve it as written, from what their
 * controllers report under `status.parents[]` (Gateway API's RouteParentStatus): each parent's
 * `Accepted` and `ResolvedRefs` conditions must be True, for the route's current generation.
 */

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

interface ParentStatus {
  parentRef?: { group?: string; kind?: string; namespace?: string; name?: string; sectionName?: string };
  controllerName?: string;
  conditions?: Condition[];
}

/** The conditions that say a route is served as written. */
const REQUIRED = ['Accepted', 'ResolvedRefs'] as const;

/** What the user can do about a refusal, by the condition's reason. */
const HINTS: Record<string, string> = {
  BackendNotFound: 'create the Service it names (the canary backend selects the new version’s pods), or correct the backend names',
  RefNotPermitted: 'a backend in another namespace needs a ReferenceGrant there that allows this route',
};

/** The parents that report on the route; empty when no controller has written a status. */
export function parentsOf(route: KubeObject): ParentStatus[] {
  return ((route.status as { parents?: ParentStatus[] } | undefined)?.parents ?? []).filter((p) => typeof p === 'object' && p !== null);
}

/**
 * A ProviderError when the route's parents do not serve it as written (`what` names the route),
 * `undefined` when every parent reports `Accepted` and `ResolvedRefs` True for its current
 * generation, or when none reports at all. A condition False for the current generation is final
 * (not retryable: a missing backend stays missing until someone creates it); a condition of an
 * older generation, Unknown or absent means the controller has not reconciled the route yet,
 * which is retryable.
 */
export function routeStatusError(route: KubeObject, what: string): ProviderError | undefined {
  const generation = route.metadata?.generation as number | undefined;
  const refused: string[] = [];
  const pending: string[] = [];
  for (const parent of parentsOf(route)) {
    const who = parentName(parent, route.metadata?.namespace);
    for (const type of REQUIRED) {
      const c = (parent.conditions ?? []).find((x) => x.type === type);
      const said = c ? `${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}` : '';
      if (c === undefined) pending.push(`${who} reports no ${type} condition yet`);
      else if (generation !== undefined && c.observedGeneration !== undefined && c.observedGeneration < generation) {
        pending.push(`${who} has not reconciled generation ${generation} yet (its ${type} condition is of generation ${c.observedGeneration})`);
      } else if (c.status === 'False') {
        const hint = c.reason ? HINTS[c.reason] : undefined;
        refused.push(`${who} reports ${type} False${said}${hint ? `; ${hint}` : ''}`);
      } else if (c.status !== 'True') pending.push(`${who} reports ${type} ${c.status ?? 'without a status'}${said}`);
    }
  }
  if (refused.length > 0) return new ProviderError(`gateway-api router: ${what} is not served as written: ${refused.join('; ')}`);
  if (pending.length > 0) return new ProviderError(`gateway-api router: ${what} is not served as written yet: ${pending.join('; ')}`, { retryable: true });
  return undefined;
}

/** `Gateway infra/public (listener https)`: a parentRef's defaults are kind Gateway and the route's namespace. */
function parentName(parent: ParentStatus, namespace: unknown): string {
  const ref = parent.parentRef ?? {};
  const listener = ref.sectionName ? ` (listener ${ref.sectionName})` : '';
  return `${ref.kind ?? 'Gateway'} ${ref.namespace ?? String(namespace ?? '')}/${ref.name ?? '?'}${listener}`;
}
