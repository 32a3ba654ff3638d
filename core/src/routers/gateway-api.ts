import { z } from 'zod';
import { HTTPROUTES, type KubeObject } from '../kubernetes/client.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { parentsOf, routeStatusError } from './gateway-api/status.js';
import { pickRule } from './kubernetes/pick.js';
import { relativeWeights, type EntryModel } from './kubernetes/split.js';
import { weightedRouter } from './kubernetes/weighted-route.js';

export const type = 'gateway-api';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    httpRoute: z.string().min(1).describe('Name of the HTTPRoute (gateway.networking.k8s.io/v1) whose rule rollgate splits'),
    namespace: z.string().min(1).optional().describe("Its namespace (default: the environment's kubernetes.namespace, else the context's, else `default`)"),
    rule: z
      .union([z.number().int().min(0), z.string().min(1)])
      .optional()
      .describe('The rule to split: its index in spec.rules (from 0) or its name (default: the only rule with a backendRef to stableBackend)'),
    stableBackend: z.string().min(1).describe('Name of the backendRef (a Service) that serves the stable version'),
    canaryBackend: z
      .string()
      .min(1)
      .describe("Name of the backendRef (a Service) that serves the new version: added to the rule when missing, with the stable backendRef's port, kind, group and namespace, and removed by finalize"),
    port: z
      .number()
      .int()
      .min(1)
      .max(65_535)
      .optional()
      .describe("Port of both backendRefs: only backendRefs with this port are the two versions', and an added canary backendRef gets it (default: any port; an added canary takes the stable one's)"),
  })
  .refine((c) => c.canaryBackend !== c.stableBackend, { message: 'canaryBackend must name another Service than stableBackend', path: ['canaryBackend'] })
  .describe(
    "Splits traffic by the backendRef weights of one rule of a Gateway API HTTPRoute (relative weights, 10 % written as 10 and 90); finalize puts the rule's backendRefs back as they were found. The route's status shows whether its Gateways serve it as written",
  );
export type GatewayApiRouterConfig = z.output<typeof configSchema>;

/** An HTTPRoute rule's backendRef (HTTPBackendRef); unknown fields travel untouched. */
interface BackendRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  port?: number;
  /** Relative, 0–1,000,000; 1 when absent. */
  weight?: number;
  [field: string]: unknown;
}

interface Rule {
  name?: string;
  backendRefs?: BackendRef[];
  [field: string]: unknown;
}

/**
 * A Gateway API HTTPRoute rule's backendRefs carry the split: the stable and canary backendRefs get
 * relative weights (canary % and the rest), the canary's added when missing; finalize puts the
 * rule's backendRefs back as found. getWeights reads the route back, and fails when a Gateway
 * reports it refused (`Accepted` or `ResolvedRefs` False), or, retryably, when it has not yet
 * reconciled the route's current generation.
 */
export function create(config: GatewayApiRouterConfig, deps: ProviderDeps): TrafficRouter {
  const port = config.port === undefined ? '' : `:${config.port}`;
  const names = { stable: `Service ${config.stableBackend}${port}`, canary: `Service ${config.canaryBackend}${port}` };
  const is = (b: BackendRef, name: string) => b.name === name && (config.port === undefined || b.port === config.port);
  const entries: EntryModel<BackendRef> = {
    router: type,
    names,
    role: (b) => (is(b, config.stableBackend) ? 'stable' : is(b, config.canaryBackend) ? 'canary' : undefined),
    weight: (b) => b.weight ?? 1,
    withWeight: (b, weight) => ({ ...b, weight }),
    canaryFrom: (stable) => {
      const { group, kind, namespace } = stable;
      const canaryPort = config.port ?? stable.port;
      return {
        ...(group !== undefined ? { group } : {}),
        ...(kind !== undefined ? { kind } : {}),
        name: config.canaryBackend,
        ...(namespace !== undefined ? { namespace } : {}),
        ...(canaryPort !== undefined ? { port: canaryPort } : {}),
      };
    },
    label: (b) => `${b.kind ?? 'Service'} ${b.namespace ? `${b.namespace}/` : ''}${b.name ?? '?'}${b.port === undefined ? '' : `:${b.port}`}`,
  };
  let warned = false;

  return weightedRouter(
    {
      resource: HTTPROUTES,
      name: config.httpRoute,
      namespace: config.namespace,
      entries,
      whenMissing: `create it, with a rule whose backendRef is the ${names.stable}, before the rollout (or correct httpRoute and namespace)`,
      weights: relativeWeights,
      locate(route, what) {
        const spec = (route.spec ?? {}) as { rules?: Rule[] };
        const rules = spec.rules ?? [];
        const at = pickRule(
          rules,
          config.rule,
          { router: type, noun: 'rule', field: 'rule', stable: names.stable, nameOf: (r) => r.name, holdsStable: (r) => (r.backendRefs ?? []).some((b) => entries.role(b) === 'stable') },
          what,
        );
        return {
          where: `${at.label} of ${what}`,
          field: `spec.rules[${at.index}].backendRefs`,
          entries: (rules[at.index] as Rule).backendRefs ?? [],
          with: (backendRefs): KubeObject => ({ ...route, spec: { ...spec, rules: rules.map((r, i) => (i === at.index ? { ...r, backendRefs } : r)) } }),
        };
      },
      served(route, what, ctx) {
        if (parentsOf(route).length === 0 && !warned) {
          warned = true;
          ctx.log.warn(`gateway-api router: no Gateway controller reports on ${what} (it has no status.parents): rollgate reads its weights as written, not as served`);
        }
        return routeStatusError(route, what);
      },
    },
    deps,
  );
}
