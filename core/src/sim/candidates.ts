import { ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import { dropCandidate, dropUnits, replaceVersion, resize, units, waitFor } from './replicas.js';
import type { CandidateState, LiveWorld, ServiceState, Transition } from './world-state.js';

// The two-version phase of canary and blue-green, like Argo Rollouts' stable and canary
// ReplicaSets: a candidate runs beside the stable version until it is promoted or removed.

/** The stable replica count a full-scale candidate matches; `undefined` when nothing is deployed. */
export function fullScale(live: LiveWorld, name: string): number | undefined {
  const svc = live.services.get(name);
  return svc && (svc.candidate?.fullScale ?? svc.replicas);
}

/**
 * Starts `replicas` of `version` beside the stable version (replacing a candidate of another
 * version), or rescales the candidate of that version. The stable replicas stay, so the candidate
 * needs its capacity out of the free units. On a first deploy the candidate runs alone and
 * `firstFullScale` (default one per node) is what promote scales it to. Throws `ProviderError`.
 */
export function deployCandidate(live: LiveWorld, name: string, version: string, replicas: number, firstFullScale?: number): Transition {
  checkCount(name, 'candidate', replicas);
  const svc = live.services.get(name) ?? { version: null, replicas: 0, readyAt: 0, route: 'none', weight: 0 };
  const old = svc.candidate;
  if (old?.version === version) {
    return old.replicas === replicas ? { changes: [], waitMs: waitFor(live, old) } : scaleSets(live, name, svc, svc.replicas, replicas);
  }
  const needs = units(live, version, replicas);
  const free = live.capacity().free + (old ? units(live, old.version, old.replicas, old) : 0);
  if (needs > free) {
    throw new ProviderError(
      `sim: not enough capacity for ${name} ${version} beside ${svc.version ?? 'nothing'}: needs ${needs} units, ${Math.max(0, free)} free; ` +
        'add nodes, lower the candidate replicas or free capacity',
    );
  }
  const changes: Change[] = [{ object: `service/${name}`, field: 'candidate', before: old?.version ?? null, after: version }];
  if (replicas !== (old?.replicas ?? 0)) changes.push({ object: `service/${name}`, field: 'candidate-replicas', before: old?.replicas ?? 0, after: replicas });
  const fullScale = old?.fullScale ?? (svc.version === null ? (firstFullScale ?? live.nodes.count) : svc.replicas);
  const candidate: CandidateState = { version, replicas, readyAt: 0, fullScale };
  replaceVersion(live, candidate, version);
  svc.candidate = candidate;
  // A new candidate takes no requests until the router or `scale` sends it some; a split the
  // router prepared stays, since the router owns it.
  if (svc.route === 'replicas') svc.route = 'none';
  live.services.set(name, svc);
  return { changes, waitMs: waitFor(live, candidate) };
}

/**
 * Sets both replica counts: how weights are approximated without a router, so unless a router's
 * split is open, requests then spread over the ready replicas of both versions. Refused only when
 * the growth does not fit in the free capacity: shrinking always works, and what one side
 * releases counts for the other.
 */
export function scale(live: LiveWorld, name: string, split: { stable: number; candidate: number }): Transition {
  checkCount(name, 'stable', split.stable);
  checkCount(name, 'candidate', split.candidate);
  const svc = live.services.get(name);
  if (!svc) throw new ProviderError(`sim: cannot scale ${name}: nothing is deployed (deploy it first)`);
  if (!svc.candidate && split.candidate > 0) {
    throw new ProviderError(`sim: cannot scale the candidate of ${name} to ${split.candidate}: no candidate is running (deploy one first)`);
  }
  if (svc.candidate && svc.route === 'none') svc.route = 'replicas';
  // Without a stable version (a first deploy) there is nothing to scale on that side.
  return scaleSets(live, name, svc, svc.version === null ? 0 : split.stable, split.candidate);
}

function scaleSets(live: LiveWorld, name: string, svc: ServiceState, stable: number, candidate: number): Transition {
  const cand = svc.candidate;
  const growth =
    units(live, svc.version, stable, svc) -
    units(live, svc.version, svc.replicas, svc) +
    (cand ? units(live, cand.version, candidate, cand) - units(live, cand.version, cand.replicas, cand) : 0);
  const free = live.capacity().free;
  if (growth > 0 && growth > free) {
    throw new ProviderError(
      `sim: not enough capacity to scale ${name} to ${stable} stable and ${candidate} candidate replicas: ` +
        `needs ${growth} more units, ${Math.max(0, free)} free; add nodes or free capacity`,
    );
  }
  const changes: Change[] = [];
  if (stable !== svc.replicas) {
    changes.push({ object: `service/${name}`, field: 'replicas', before: svc.replicas, after: stable });
    resize(live, svc, stable);
  }
  if (cand && candidate !== cand.replicas) {
    changes.push({ object: `service/${name}`, field: 'candidate-replicas', before: cand.replicas, after: candidate });
    resize(live, cand, candidate);
  }
  return { changes, waitMs: Math.max(waitFor(live, svc), waitFor(live, cand)) };
}

/**
 * The candidate becomes the stable version at full scale: its replicas keep serving, the missing
 * ones start, the old stable ones and the split go. Idempotent: without a candidate it only drops
 * a leftover split.
 */
export function promote(live: LiveWorld, name: string): Transition {
  const svc = live.services.get(name);
  if (!svc) return { changes: [], waitMs: 0 };
  const changes: Change[] = [];
  const cand = svc.candidate;
  if (cand) {
    if (svc.version !== cand.version) changes.push({ object: `service/${name}`, field: 'version', before: svc.version, after: cand.version });
    if (svc.replicas !== cand.fullScale) changes.push({ object: `service/${name}`, field: 'replicas', before: svc.replicas, after: cand.fullScale });
    svc.version = cand.version;
    svc.replicas = cand.replicas;
    svc.readyAt = cand.readyAt;
    if (cand.warm === undefined) delete svc.warm;
    else svc.warm = cand.warm;
    if (cand.avoid === undefined) delete svc.avoid;
    else svc.avoid = cand.avoid;
    resize(live, svc, cand.fullScale);
    dropUnits(live, name, changes);
  }
  dropCandidate(name, svc, changes);
  return { changes, waitMs: waitFor(live, svc) };
}

/**
 * Removes the candidate and the split; the stable version gets back the replicas `scale` took
 * from it, so a rollback leaves the service as it was (a first deploy's service goes). Never
 * refused for capacity.
 */
export function removeCandidate(live: LiveWorld, name: string): Transition {
  const svc = live.services.get(name);
  if (!svc) return { changes: [], waitMs: 0 };
  const changes: Change[] = [];
  const full = svc.candidate?.fullScale ?? 0;
  dropCandidate(name, svc, changes);
  if (svc.version === null) {
    live.services.delete(name);
    return { changes, waitMs: 0 };
  }
  if (svc.replicas < full) {
    changes.push({ object: `service/${name}`, field: 'replicas', before: svc.replicas, after: full });
    resize(live, svc, full);
  }
  return { changes, waitMs: waitFor(live, svc) };
}

function checkCount(name: string, which: string, replicas: number): void {
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new ProviderError(`sim: ${which} replicas of ${name} must be a whole number of 0 or more, got ${replicas}`);
  }
}
