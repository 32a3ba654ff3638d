import { z } from 'zod';
import { ProviderError } from '../errors.js';
import { VIRTUALSERVICES, type KubeObject } from '../kubernetes/client.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { pickRule } from './kubernetes/pick.js';
import type { EntryModel, SplitWeights } from './kubernetes/split.js';
import { weightedRouter } from './kubernetes/weighted-route.js';

export const type = 'istio';

const destination = (version: string) =>
  z
    .strictObject({
      host: z.string().min(1).describe(`The destination's host as the VirtualService writes it (a Service name such as \`web\`, or its FQDN)`),
      subset: z.string().min(1).optional().describe("Its subset, of the host's DestinationRule (default: none: the destination has no subset)"),
    })
    .describe(`The destination that serves the ${version} version`);

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    virtualService: z.string().min(1).describe('Name of the VirtualService (networking.istio.io/v1) whose http route rollgate splits'),
    namespace: z.string().min(1).optional().describe("Its namespace (default: the environment's kubernetes.namespace, else the context's, else `default`)"),
    route: z
      .union([z.number().int().min(0), z.string().min(1)])
      .optional()
      .describe('The http route to split: its index in spec.http (from 0) or its name (default: the only http route with the stable destination)'),
    stable: destination('stable'),
    canary: destination('new').describe("The destination that serves the new version: added to the route when missing, with the stable destination's port, and removed by finalize"),
  })
  .refine((c) => c.canary.host !== c.stable.host || c.canary.subset !== c.stable.subset, {
    message: 'the canary destination must differ from the stable one (another host, or another subset)',
    path: ['canary'],
  })
  .describe(
    "Splits traffic by the destination weights of one http route of an Istio VirtualService (whole percents summing to 100); finalize puts the route's destinations back as they were found",
  );
export type IstioRouterConfig = z.output<typeof configSchema>;

/** An http route's destination (HTTPRouteDestination); unknown fields travel untouched. */
interface RouteDestination {
  destination?: { host?: string; subset?: string; port?: { number?: number } };
  weight?: number;
  [field: string]: unknown;
}

interface HttpRoute {
  name?: string;
  route?: RouteDestination[];
  [field: string]: unknown;
}

/** Whole percents: older Istio versions refuse weights that do not sum to 100, so rollgate writes no other. */
function percents(canary: number): SplitWeights {
  if (!Number.isInteger(canary)) {
    throw new ProviderError(`istio router: Istio route weights are whole percents summing to 100, so ${canary} % cannot be written; use a whole number`, { nothingChanged: true });
  }
  return { stable: 100 - canary, canary };
}

/**
 * An Istio VirtualService http route's destinations carry the split: the stable and canary
 * destinations get weights summing to 100, the canary's added when missing; finalize puts the
 * route's destinations back as found. getWeights reads the VirtualService back (what istiod has
 * pushed to the proxies is not observed).
 */
export function create(config: IstioRouterConfig, deps: ProviderDeps): TrafficRouter {
  const named = (d: { host: string; subset?: string | undefined }, port?: number) => `destination ${d.host}${port === undefined ? '' : `:${port}`}${d.subset ? ` (subset ${d.subset})` : ''}`;
  const names = { stable: named(config.stable), canary: named(config.canary) };
  const is = (e: RouteDestination, d: { host: string; subset?: string | undefined }) => e.destination?.host === d.host && e.destination.subset === d.subset;
  const entries: EntryModel<RouteDestination> = {
    router: type,
    names,
    role: (e) => (is(e, config.stable) ? 'stable' : is(e, config.canary) ? 'canary' : undefined),
    // A lone destination takes all traffic whatever its weight; among several, no weight is 0.
    weight: (e, count) => (count === 1 ? 1 : (e.weight ?? 0)),
    withWeight: (e, weight) => ({ ...e, weight }),
    canaryFrom: (stable) => {
      const port = stable.destination?.port;
      return { destination: { host: config.canary.host, ...(config.canary.subset ? { subset: config.canary.subset } : {}), ...(port ? { port } : {}) } };
    },
    label: (e) => named({ host: e.destination?.host ?? '?', subset: e.destination?.subset }, e.destination?.port?.number),
  };

  return weightedRouter(
    {
      resource: VIRTUALSERVICES,
      name: config.virtualService,
      namespace: config.namespace,
      entries,
      whenMissing: `create it, with an http route to the ${names.stable}, before the rollout (or correct virtualService and namespace)`,
      weights: percents,
      locate(vs, what) {
        const spec = (vs.spec ?? {}) as { http?: HttpRoute[] };
        const http = spec.http ?? [];
        const at = pickRule(
          http,
          config.route,
          { router: type, noun: 'http route', field: 'route', stable: names.stable, nameOf: (r) => r.name, holdsStable: (r) => (r.route ?? []).some((e) => entries.role(e) === 'stable') },
          what,
        );
        return {
          where: `${at.label} of ${what}`,
          field: `spec.http[${at.index}].route`,
          entries: (http[at.index] as HttpRoute).route ?? [],
          with: (route): KubeObject => ({ ...vs, spec: { ...spec, http: http.map((r, i) => (i === at.index ? { ...r, route } : r)) } }),
        };
      },
    },
    deps,
  );
}
