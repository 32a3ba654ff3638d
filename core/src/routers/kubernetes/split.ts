import { ProviderError } from '../../errors.js';

/*
 * The weighted list of one route rule as the gateway-api and istio routers plan it: an HTTPRoute
 * rule's backendRefs, a VirtualService http route's destinations. Pure: the routers read the
 * object, plan the list here and write it back themselves.
 */

/** The version an entry of the list plays; `undefined` for a backend that is someone else's. */
export type Role = 'stable' | 'canary' | undefined;

/** How one API spells the entries of a weighted list. */
export interface EntryModel<T> {
  /** The router's type, first in every message. */
  router: string;
  /** The stable and the canary backend as messages name them (`Service web-canary`). */
  names: { stable: string; canary: string };
  role(entry: T): Role;
  /**
   * Its weight as the data plane reads it: the API's default applied where it has none (`count`
   * entries in the list; a lone entry takes all traffic in Istio whatever its weight).
   */
  weight(entry: T, count: number): number;
  withWeight(entry: T, weight: number): T;
  /** The canary's entry for a list that has none, made from the stable one's (its port, its kind). */
  canaryFrom(stable: T): T;
  /** As messages name an entry: `Service web:8080`. */
  label(entry: T): string;
}

/** The integer weights written for a split. */
export interface SplitWeights {
  stable: number;
  canary: number;
}

/**
 * Relative weights that send `canary` % to the canary, in the smallest whole numbers that keep the
 * share to a hundredth of a percent: 10 % is 10 and 90 (as a person writes it), 2.5 % is 25 and
 * 975, 0.25 % is 25 and 9,975. Gateway API takes any weights up to 1,000,000.
 */
export function relativeWeights(canary: number): SplitWeights {
  for (const scale of [1, 10, 100]) {
    const c = canary * scale;
    if (Number.isInteger(c)) return { stable: 100 * scale - c, canary: c };
  }
  const c = Math.round(canary * 100);
  return { stable: 10_000 - c, canary: c };
}

/**
 * The list that sends `weights` to the two versions: the found list with the stable and the
 * canary entry weighted, the canary's added after the stable one when missing, anyone else's
 * entries untouched. Throws a ProviderError naming `where` when the list cannot carry the split:
 * no stable entry, a version listed twice, or another backend that takes traffic too (rollgate's
 * share would not be the share served).
 */
export function planSplit<T>(found: readonly T[], weights: SplitWeights, model: EntryModel<T>, where: string): T[] {
  const roles = found.map((e) => model.role(e));
  const backends = () => found.map((e) => model.label(e)).join(', ') || 'none';
  for (const role of ['stable', 'canary'] as const) {
    if (roles.filter((r) => r === role).length > 1) {
      throw new ProviderError(`${model.router} router: ${where} lists ${model.names[role]} more than once (${backends()}); rollgate sets one weight per version`);
    }
  }
  const stable = roles.indexOf('stable');
  if (stable < 0) throw new ProviderError(`${model.router} router: ${where} does not send traffic to ${model.names.stable} (its backends: ${backends()}); check the router's stable backend`);
  const other = found.find((e, i) => roles[i] === undefined && model.weight(e, found.length) > 0);
  if (other !== undefined) {
    throw new ProviderError(
      `${model.router} router: ${where} also sends traffic to ${model.label(other)} (weight ${model.weight(other, found.length)}), so the canary's share would not be the one rollgate sets; give it weight 0 or a rule of its own`,
    );
  }
  const entries = [...found];
  if (!roles.includes('canary')) entries.splice(stable + 1, 0, model.canaryFrom(found[stable] as T));
  return entries.map((e) => {
    const role = model.role(e);
    return role === undefined ? e : model.withWeight(e, weights[role]);
  });
}

/**
 * The canary's share in percent, to a hundredth, of what the list sends anywhere; `undefined` when
 * it sends nothing (every weight 0).
 */
export function shareOf<T>(entries: readonly T[], model: EntryModel<T>): number | undefined {
  let all = 0;
  let canary = 0;
  for (const e of entries) {
    const w = model.weight(e, entries.length);
    all += w;
    if (model.role(e) === 'canary') canary += w;
  }
  return all > 0 ? Math.round((10_000 * canary) / all) / 100 : undefined;
}
