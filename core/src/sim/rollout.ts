import { ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import { dropCandidate, dropUnits, replaceVersion, resize, units, waitFor } from './replicas.js';
import type { LiveWorld, ServiceState, Transition } from './world-state.js';

// The whole-service operations of the `direct` strategy, and the router's split.

/**
 * Rolls `version` out to every replica of a service, replacing the stable version and ending any
 * candidate, split or per-unit versions. Idempotent for the same version and replicas. Throws
 * `ProviderError` when capacity is short.
 */
export function deploy(live: LiveWorld, name: string, version: string, replicas?: number): Transition {
  const svc = live.services.get(name);
  const want = replicas ?? svc?.replicas ?? live.nodes.count;
  if (svc && svc.version === version && svc.replicas === want && isPlain(live, name, svc)) return { changes: [], waitMs: waitFor(live, svc) };
  const needs = units(live, version, want);
  const released = svc ? units(live, svc.version, svc.replicas, svc) + (svc.candidate ? units(live, svc.candidate.version, svc.candidate.replicas, svc.candidate) : 0) : 0;
  const available = live.capacity().free + released;
  if (needs > available) {
    throw new ProviderError(
      `sim: not enough capacity for ${name} ${version}: needs ${needs} units, ${Math.max(0, available)} free; add nodes, lower the replicas or free capacity`,
    );
  }
  return setStable(live, name, svc, version, want);
}

/**
 * Puts `previous` back (one version everywhere, no candidate, no split), or removes the service
 * when it is undefined/null. Never refused for capacity: a rollback must be able to run.
 */
export function revert(live: LiveWorld, name: string, previous: { version: string; replicas?: number } | null | undefined): Transition {
  const svc = live.services.get(name);
  if (!previous) {
    const changes: Change[] = [];
    dropUnits(live, name, changes);
    if (svc) {
      dropCandidate(name, svc, changes);
      live.services.delete(name);
      if (svc.version !== null) changes.push({ object: `service/${name}`, field: 'version', before: svc.version, after: null });
    }
    return { changes, waitMs: 0 };
  }
  return setStable(live, name, svc, previous.version, previous.replicas ?? svc?.replicas ?? live.nodes.count);
}

/** No candidate, no route, no per-unit versions: what a plain deploy leaves. */
function isPlain(live: LiveWorld, name: string, svc: ServiceState): boolean {
  return !svc.candidate && svc.route === 'none' && !live.fleets.has(name);
}

function setStable(live: LiveWorld, name: string, svc: ServiceState | undefined, version: string, want: number): Transition {
  const changes: Change[] = [];
  dropUnits(live, name, changes);
  if (!svc) {
    const created: ServiceState = { version, replicas: want, readyAt: 0, route: 'none', weight: 0 };
    replaceVersion(live, created, version);
    live.services.set(name, created);
    changes.push({ object: `service/${name}`, field: 'version', before: null, after: version });
    return { changes, waitMs: waitFor(live, created) };
  }
  dropCandidate(name, svc, changes);
  if (svc.version !== version) {
    changes.push({ object: `service/${name}`, field: 'version', before: svc.version, after: version });
    replaceVersion(live, svc, version);
  }
  if (svc.replicas !== want) {
    changes.push({ object: `service/${name}`, field: 'replicas', before: svc.replicas, after: want });
    resize(live, svc, want);
  }
  return { changes, waitMs: waitFor(live, svc) };
}

/** Opens or moves the router's split: `canary` % of the requests to the candidate. */
export function setWeight(live: LiveWorld, name: string, canary: number): Change[] {
  if (!Number.isFinite(canary) || canary < 0 || canary > 100) {
    throw new ProviderError(`sim: canary weight for ${name} must be between 0 and 100, got ${canary}`);
  }
  const svc = live.services.get(name);
  if (!svc) throw new ProviderError(`sim: cannot route traffic of ${name}: nothing is deployed (deploy it first)`);
  if (svc.route === 'split' && svc.weight === canary) return [];
  const before = svc.route === 'split' ? svc.weight : null;
  svc.route = 'split';
  svc.weight = canary;
  return [{ object: `route/${name}`, field: 'weight', before, after: canary }];
}

/**
 * Drops the split: everything goes to the stable version, even while a candidate still runs
 * (until it is promoted or removed). Never promotes: that is the target's job.
 */
export function finalize(live: LiveWorld, name: string): Change[] {
  const svc = live.services.get(name);
  if (!svc || svc.route !== 'split') return [];
  const changes: Change[] = [{ object: `route/${name}`, field: 'weight', before: svc.weight, after: null }];
  svc.route = 'none';
  svc.weight = 0;
  return changes;
}
