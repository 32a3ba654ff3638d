import { z } from 'zod';
import { ProviderError } from '../errors.js';
import { DEPLOYMENTS, KubeClient, type KubeObject } from '../kubernetes/client.js';
import { connection } from '../kubernetes/connection.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';

export const type = 'kubernetes-service';

/** A Service selector sends all traffic to one set of pods: 0 or 100 %, nothing between (validation says so). */
export const weights = 'switch';

const labels = z.record(z.string().min(1), z.string());

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    service: z.string().min(1).describe('Name of the Service whose selector is switched'),
    namespace: z.string().min(1).optional().describe("Its namespace (default: the environment's kubernetes.namespace, else the context's, else `default`)"),
    candidateLabels: labels
      .optional()
      .describe(
        "Labels that, added to the Service's selector, select only the new version's pods (default: the candidate labels of the stage's kubernetes target, `rollgate.io/track: candidate`)",
      ),
  })
  .describe(
    "Blue-green by a Service's selector: the switch adds the new version's labels to it, finalize puts the selector back as it was found. All traffic moves at once (weights 0 and 100 only); a preview Service selecting the candidate labels reaches the green copy before the switch",
  );
export type KubernetesServiceRouterConfig = z.output<typeof configSchema>;

/** The selector as rollgate found it, kept before its first change. */
interface Kept {
  found: Record<string, string>;
}

/** Attempts at a selector write that meets 409 Conflict before giving up. */
const CONFLICT_ATTEMPTS = 5;

export function create(config: KubernetesServiceRouterConfig, deps: ProviderDeps): TrafficRouter {
  const client = connection(deps);
  const fromTarget = (deps.target?.type === 'kubernetes' ? (deps.target.candidate as { labels?: Record<string, string> } | undefined)?.labels : undefined) ?? {
    'rollgate.io/track': 'candidate',
  };
  const candidate = config.candidateLabels ?? fromTarget;
  const kept = () => deps.state.get() as Kept | undefined;

  const where = async (ctx: StepContext) => {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError('kubernetes-service router: cancelled');
    const api = await client(ctx);
    const namespace = config.namespace ?? api.namespace;
    return { api, namespace, what: `Service ${namespace}/${config.service}`, object: `service/${namespace}/${config.service}` };
  };

  async function read(api: KubeClient, namespace: string, what: string, ctx: StepContext): Promise<{ service: KubeObject; selector: Record<string, string> }> {
    const service = await api.service(namespace, config.service, ctx.signal);
    if (!service) throw new ProviderError(`kubernetes-service router: ${what} does not exist; create the Service that sends traffic to the stable pods first`);
    return { service, selector: { ...(((service.spec ?? {}) as { selector?: Record<string, string> }).selector ?? {}) } };
  }

  /** The selector that sends everything to the new version: the found one with the candidate's labels. */
  const switched = (found: Record<string, string>) => ({ ...found, ...candidate });
  const same = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

  /** Sets the selector (conflicts re-read and retried) and reports it. */
  async function select(selector: (found: Record<string, string>) => Record<string, string>, ctx: StepContext): Promise<void> {
    const { api, namespace, what, object } = await where(ctx);
    for (let attempt = 1; ; attempt++) {
      const now = await read(api, namespace, what, ctx);
      // The selector as found, on disk in the journal before the first change.
      if (kept() === undefined) {
        await deps.state.put({ found: now.selector } satisfies Kept);
        await warnIfItSelectedTheCandidate(api, namespace, what, now.selector, ctx);
      }
      const desired = selector((kept() as Kept).found);
      if (same(desired, now.selector)) return;
      try {
        await api.setSelector(now.service, desired, ctx.signal);
        ctx.recordChange({ object, field: 'selector', before: now.selector, after: desired });
        return;
      } catch (err) {
        if (!KubeClient.isConflict(err) || attempt >= CONFLICT_ATTEMPTS) throw err;
        ctx.log.info(`kubernetes: ${what} changed while rollgate wrote its selector (409 Conflict): reading it again (attempt ${attempt + 1} of ${CONFLICT_ATTEMPTS})`);
      }
    }
  }

  /**
   * A Service whose selector also matches the candidate's pods sent it traffic from the moment it
   * started, before any verification: said once, at the first switch, naming the label to add.
   */
  async function warnIfItSelectedTheCandidate(api: KubeClient, namespace: string, what: string, selector: Record<string, string>, ctx: StepContext): Promise<void> {
    const deployment = deps.target?.type === 'kubernetes' ? deps.target.deployment : undefined;
    if (typeof deployment !== 'string') return;
    const name = (deps.target?.candidate as { name?: string } | undefined)?.name ?? `${deployment}-candidate`;
    const found = await api.get(DEPLOYMENTS, namespace, name, ctx.signal);
    const labels = ((((found?.spec ?? {}) as { template?: { metadata?: { labels?: Record<string, string> } } }).template ?? {}).metadata ?? {}).labels;
    if (!labels || !Object.entries(selector).every(([k, v]) => labels[k] === v)) return;
    ctx.log.warn(
      `kubernetes-service router: the selector of ${what} (${JSON.stringify(selector)}) also selects the pods of ${name}, so they took traffic before the switch, unverified; give the stable pods a label the candidate replaces (such as ${Object.keys(candidate).map((k) => `${k}: stable`).join(', ')}) and add it to the selector`,
    );
  }

  return {
    type,
    async setWeights(w, ctx) {
      if (w.canary !== 0 && w.canary !== 100) {
        throw new ProviderError(
          `kubernetes-service router: a Service selector sends all traffic or none, so it cannot send ${w.canary} % to the new version; use blue-green, a gateway-api or istio router for weights, or no router (a canary's share then follows its replicas)`,
          { nothingChanged: true },
        );
      }
      await select((found) => (w.canary === 100 ? switched(found) : found), ctx);
    },

    async getWeights(ctx) {
      const { api, namespace, what } = await where(ctx);
      const { selector } = await read(api, namespace, what, ctx);
      const found = kept()?.found;
      if (same(selector, switched(found ?? selector))) return { canary: 100 };
      if (found === undefined || same(selector, found)) return { canary: 0 };
      throw new ProviderError(
        `kubernetes-service router: the selector of ${what} (${JSON.stringify(selector)}) is neither the one rollgate found (${JSON.stringify(found)}) nor the switched one: someone else changed it during the rollout`,
      );
    },

    async finalize(ctx) {
      const found = kept()?.found;
      // Never touched: the selector is as it was found, whoever set it.
      if (found === undefined) return;
      await select(() => found, ctx);
    },
  };
}
