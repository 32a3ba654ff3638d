import type { Change } from '../model/events.js';
import type { LiveWorld, Replicas, ServiceState } from './world-state.js';

/** Replicas of `set` that are ready at `t`, wherever they run: all once started, only the warm ones before. */
export function readyNow(set: Replicas, t: number): number {
  return t >= set.readyAt ? set.replicas : Math.min(set.warm ?? 0, set.replicas);
}

/** Ready replicas of `set` on ready nodes: the warm ones are the first in placement order. */
export function readyOnUp(live: LiveWorld, set: Replicas): number {
  return live.nodes.onUp(readyNow(set, live.elapsed()), set.avoid);
}

/**
 * Capacity units `replicas` of `version` take on ready nodes (none without a version): of a
 * running set with its placement, or, without `set`, of replicas placed now (avoiding crashed nodes).
 */
export function units(live: LiveWorld, version: string | null, replicas: number, set?: Replicas): number {
  return version === null ? 0 : live.profile(version).cpu * live.nodes.onUp(replicas, set ? set.avoid : live.nodes.avoidNow());
}

/** Places a set now: its replicas avoid the nodes that are down at this moment, as a scheduler's would. */
function place(live: LiveWorld, set: Replicas): void {
  const avoid = live.nodes.avoidNow();
  if (avoid) set.avoid = avoid;
  else delete set.avoid;
}

/** Milliseconds until every replica of `set` is ready. */
export function waitFor(live: LiveWorld, set: Replicas | undefined): number {
  return set ? Math.max(0, set.readyAt - live.elapsed()) : 0;
}

/**
 * Sets the replica count of `set`. New replicas take the version's startup while the running ones
 * keep serving (a scale-up is not an outage); removing replicas is immediate.
 */
export function resize(live: LiveWorld, set: Replicas & { version: string | null }, want: number): void {
  const t = live.elapsed();
  if (want > set.replicas && set.version !== null) {
    // The running replicas on ready nodes keep serving; the set is placed anew around crashed nodes.
    set.warm = live.nodes.onUp(readyNow(set, t), set.avoid);
    set.readyAt = Math.max(set.readyAt, t + live.profile(set.version).startupMs);
    place(live, set);
  }
  set.replicas = want;
  if (t >= set.readyAt) delete set.warm;
}

/** Replaces the version of every replica of `set`: none is ready until the new version has started. */
export function replaceVersion(live: LiveWorld, set: Replicas & { version: string | null }, version: string): void {
  set.version = version;
  set.readyAt = live.elapsed() + live.profile(version).startupMs;
  delete set.warm;
  place(live, set);
}

/**
 * Removes the candidate and the router's split (traffic back to the stable version), recording
 * both. Every operation that ends the two-version phase goes through here.
 */
export function dropCandidate(name: string, svc: ServiceState, changes: Change[]): void {
  if (svc.candidate) {
    changes.push({ object: `service/${name}`, field: 'candidate', before: svc.candidate.version, after: null });
    delete svc.candidate;
  }
  if (svc.route === 'split') changes.push({ object: `route/${name}`, field: 'weight', before: svc.weight, after: null });
  svc.route = 'none';
  svc.weight = 0;
}

/** Drops the per-unit versions of a fleet: the whole service now runs one version. */
export function dropUnits(live: LiveWorld, name: string, changes: Change[]): void {
  const fleet = live.fleets.get(name);
  if (!fleet) return;
  changes.push({ object: `service/${name}`, field: 'units-differing', before: fleet.units.size, after: 0 });
  live.fleets.delete(name);
}
