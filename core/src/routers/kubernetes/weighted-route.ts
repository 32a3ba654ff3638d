import { isDeepStrictEqual } from 'node:util';
import { ProviderError } from '../../errors.js';
import { KubeClient, type KubeObject, type Resource } from '../../kubernetes/client.js';
import { connection } from '../../kubernetes/connection.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import type { TrafficRouter } from '../../ports/traffic-router.js';
import { planSplit, shareOf, type EntryModel, type SplitWeights } from './split.js';

/** The weighted list of one rule, found in the object as read. */
export interface Located<T> {
  /** The rule in messages: `rule 1 of HTTPRoute default/web`. */
  where: string;
  /** Its path in the object, for the change reported: `spec.rules[1].backendRefs`. */
  field: string;
  entries: T[];
  /** The object as read with this list in place of the found one (resourceVersion kept). */
  with(entries: T[]): KubeObject;
}

/** What one kind of route object brings to `weightedRouter`. */
export interface WeightedRoute<T> {
  resource: Resource;
  name: string;
  /** Its namespace; without one, the cluster settings' (else the context's, else `default`). */
  namespace: string | undefined;
  entries: EntryModel<T>;
  /** What to do when the object is missing, for the message: `create the HTTPRoute …`. */
  whenMissing: string;
  /** The integer weights for `canary` %; throws a ProviderError for a share the API cannot carry. */
  weights(canary: number): SplitWeights;
  locate(object: KubeObject, what: string): Located<T>;
  /**
   * A ProviderError when the object as read is not served as written (a Gateway refused it), else
   * `undefined`; read by getWeights before the weights.
   */
  served?(object: KubeObject, what: string, ctx: StepContext): ProviderError | undefined;
}

/** The weighted list as rollgate found it, kept before its first change. */
interface Kept<T> {
  found: T[];
}

/** Attempts at a write that meets 409 Conflict before giving up. */
const CONFLICT_ATTEMPTS = 5;

/**
 * A TrafficRouter over one rule of a route object (an HTTPRoute, a VirtualService): setWeights
 * reads the object, plans the rule's weighted list (split.ts) and replaces the object at the
 * resourceVersion read, reading again on 409 Conflict; the list as found goes into `deps.state`
 * before the first write, and finalize writes it back. getWeights reads the object back.
 */
export function weightedRouter<T>(route: WeightedRoute<T>, deps: ProviderDeps): TrafficRouter {
  const router = route.entries.router;
  const client = connection(deps);
  const kept = () => deps.state.get() as Kept<T> | undefined;

  const where = async (ctx: StepContext) => {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError(`${router} router: cancelled`);
    const api = await client(ctx);
    const namespace = route.namespace ?? api.namespace;
    return { api, namespace, what: `${route.resource.kind} ${namespace}/${route.name}` };
  };

  async function read(api: KubeClient, namespace: string, what: string, ctx: StepContext): Promise<KubeObject> {
    const object = await api.get(route.resource, namespace, route.name, ctx.signal);
    if (!object) throw new ProviderError(`${router} router: ${what} does not exist; ${route.whenMissing}`);
    return object;
  }

  /** Writes the list `desired` makes of the rule as read now and as found (conflicts re-read and retried), and reports it. */
  async function write(desired: (now: Located<T>, found: T[]) => T[], ctx: StepContext): Promise<void> {
    const { api, namespace, what } = await where(ctx);
    for (let attempt = 1; ; attempt++) {
      const rule = route.locate(await read(api, namespace, what, ctx), what);
      // The list as found, on disk in the journal before the first change.
      if (kept() === undefined) await deps.state.put({ found: rule.entries } satisfies Kept<T>);
      const after = desired(rule, (kept() as Kept<T>).found);
      if (isDeepStrictEqual(after, rule.entries)) return;
      try {
        await api.replace(route.resource, rule.with(after), ctx.signal);
      } catch (err) {
        if (!KubeClient.isConflict(err)) throw err;
        if (attempt < CONFLICT_ATTEMPTS) {
          ctx.log.info(`${router} router: ${what} changed while rollgate wrote it (409 Conflict): reading it again (attempt ${attempt + 1} of ${CONFLICT_ATTEMPTS})`);
          continue;
        }
        throw new ProviderError(
          `${router} router: ${what} changed under rollgate ${CONFLICT_ATTEMPTS} times in a row (409 Conflict at each write, each read again first); something else keeps writing it, such as a GitOps controller that owns it`,
          { retryable: true, cause: err },
        );
      }
      ctx.recordChange({ object: `${route.resource.kind.toLowerCase()}/${namespace}/${route.name}`, field: rule.field, before: rule.entries, after });
      return;
    }
  }

  return {
    type: router,
    async setWeights(w, ctx) {
      // Before any request: a share the API cannot carry changes nothing.
      const weights = route.weights(w.canary);
      await write((now) => planSplit(now.entries, weights, route.entries, now.where), ctx);
    },

    async getWeights(ctx) {
      const { api, namespace, what } = await where(ctx);
      const object = await read(api, namespace, what, ctx);
      const refused = route.served?.(object, what, ctx);
      if (refused) throw refused;
      const rule = route.locate(object, what);
      const share = shareOf(rule.entries, route.entries);
      if (share === undefined) throw new ProviderError(`${router} router: ${rule.where} sends no traffic anywhere (every weight is 0)`);
      return { canary: share };
    },

    async finalize(ctx) {
      // Never touched: the rule is as it was found, whoever set it.
      if (kept() === undefined) return;
      await write((_now, found) => found, ctx);
    },
  };
}
