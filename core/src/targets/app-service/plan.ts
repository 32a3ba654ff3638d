/*
 * The decisions of the app-service target, without I/O: which image a version means, what a
 * deploy still has to do (a resumed run finds part of it done), and what a revert may do (swap
 * back, put the previous image in the slot first, or refuse because someone else deployed since).
 * The target only reads the slots, asks here, and acts.
 */

/** The image of a `DOCKER|image` linuxFxVersion; '' when the slot runs no container image. */
export function imageOfFx(fx: string | null | undefined): string {
  if (!fx) return '';
  return fx.toUpperCase().startsWith('DOCKER|') ? fx.slice('DOCKER|'.length) : '';
}

export const fxOfImage = (image: string): string => `DOCKER|${image}`;

export { imageFor, repositoryOf, versionOfImage } from '../../util/image-ref.js';

/** What runs where, as read. */
export interface Live {
  production: string;
  slot: string;
}

export type DeployPlan =
  /** Production already runs it: nothing to do. */
  | { action: 'none' }
  /** The slot must get the image, warm up, then be swapped in. */
  | { action: 'set-slot' }
  /** The slot already runs it (a resumed run): warm up and swap. */
  | { action: 'swap' };

export function deployPlan(live: Live, desired: string): DeployPlan {
  if (live.production === desired) return { action: 'none' };
  if (live.slot === desired) return { action: 'swap' };
  return { action: 'set-slot' };
}

export type RevertPlan =
  | { action: 'none' }
  /** The previous image waits in the slot: swap the two back. */
  | { action: 'swap-back' }
  /** The slot holds something else: put the previous image there, warm it, then swap. */
  | { action: 'set-slot'; image: string }
  | { action: 'refuse'; live: string };

/**
 * How to put `previous` back into production. Only an image rollgate swapped in (`wrote`) is
 * swapped out again: production running anything else was deployed by someone else since, and a
 * person decides.
 */
export function revertPlan(live: Live, previous: string, wrote: readonly string[]): RevertPlan {
  if (live.production === previous) return { action: 'none' };
  if (!wrote.includes(live.production)) return { action: 'refuse', live: live.production };
  if (live.slot === previous) return { action: 'swap-back' };
  return { action: 'set-slot', image: previous };
}

/** A routing rule of "Testing in production", as Azure keeps them on the production site. */
export interface RampUpRule {
  actionHostName: string;
  reroutePercentage: number;
  name: string;
  [more: string]: unknown;
}

/**
 * rollgate's rule is named after the slot, as the portal names the rule its Traffic % column sets
 * (so the portal shows rollgate's share, and `?x-ms-routing-name=<slot>` reaches the slot, as
 * Microsoft recommends). A rule named `rollgate` (earlier releases) is rollgate's too: it is
 * replaced or dropped. Every other rule is someone else's and stays.
 */
export const LEGACY_RULE_NAME = 'rollgate';

const ours = (rule: RampUpRule, slot: string): boolean => rule.name === LEGACY_RULE_NAME || rule.name.toLowerCase() === slot.toLowerCase();

/** The rules with rollgate's share to `slot` (at `host`) set (`percent` 0 removes rollgate's rule). */
export function withShare(rules: readonly RampUpRule[], slot: string, host: string, percent: number): RampUpRule[] {
  const others = rules.filter((r) => !ours(r, slot));
  return percent > 0 ? [...others, { actionHostName: host, reroutePercentage: percent, name: slot }] : others;
}

/** rollgate's share of the traffic to `slot` now (0 without its rule). */
export function shareOf(rules: readonly RampUpRule[] | null | undefined, slot: string): number {
  const mine = (rules ?? []).filter((r) => ours(r, slot));
  return (mine.find((r) => r.name !== LEGACY_RULE_NAME) ?? mine[0])?.reroutePercentage ?? 0;
}

/** The percent of traffic a replica split stands for: the target's full scale is 100, so a split is a share. */
export function percentOf(split: { stable: number; candidate: number }): number {
  const all = split.stable + split.candidate;
  return all <= 0 ? 0 : Math.round((split.candidate * 100) / all);
}
