import { ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import type { LiveWorld, Transition } from './world-state.js';

/**
 * Rolls `version` out to a service, replacing its replicas. Idempotent for the same version and
 * replicas. Throws `ProviderError` when capacity is short.
 */
export function deploy(live: LiveWorld, name: string, version: string, replicas?: number): Transition {
  const t = live.elapsed();
  const svc = live.services.get(name);
  const want = replicas ?? svc?.replicas ?? live.nodes.count;
  if (svc && svc.version === version && svc.replicas === want) return { changes: [], waitMs: Math.max(0, svc.readyAt - t) };
  const p = live.profile(version);
  const needs = p.cpu * live.nodes.onUp(want);
  const released = svc ? live.profile(svc.version).cpu * live.nodes.onUp(svc.replicas) : 0;
  const available = live.capacity().free + released;
  if (needs > available) {
    throw new ProviderError(
      `sim: not enough capacity for ${name} ${version}: needs ${needs} units, ${Math.max(0, available)} free; add nodes, lower the replicas or free capacity`,
    );
  }
  const changes: Change[] = [];
  if (!svc) {
    live.services.set(name, { version, replicas: want, readyAt: t + p.startupMs, route: 'none', weight: 0 });
    changes.push({ object: `service/${name}`, field: 'version', before: null, after: version });
    return { changes, waitMs: p.startupMs };
  }
  if (svc.version !== version) {
    // The version now serving the stable share stays as the stable one.
    const servingStable = svc.route === 'stable' || (svc.route === 'split' && svc.weight < 100);
    svc.stable = servingStable ? (svc.stable ?? svc.version) : svc.version;
    if (svc.route === 'stable') svc.route = 'none';
    changes.push({ object: `service/${name}`, field: 'version', before: svc.version, after: version });
    svc.version = version;
    svc.readyAt = t + p.startupMs;
  }
  if (svc.replicas !== want) {
    changes.push({ object: `service/${name}`, field: 'replicas', before: svc.replicas, after: want });
    svc.replicas = want;
  }
  return { changes, waitMs: Math.max(0, svc.readyAt - t) };
}

/**
 * Puts `previous` back (one version, no route), or removes the service when it is undefined/null.
 * Never refused for capacity: a rollback must be able to run.
 */
export function revert(live: LiveWorld, name: string, previous: { version: string; replicas?: number } | null | undefined): Transition {
  const t = live.elapsed();
  const svc = live.services.get(name);
  if (!previous) {
    if (!svc) return { changes: [], waitMs: 0 };
    live.services.delete(name);
    return { changes: [{ object: `service/${name}`, field: 'version', before: svc.version, after: null }], waitMs: 0 };
  }
  const want = previous.replicas ?? svc?.replicas ?? live.nodes.count;
  const changes: Change[] = [];
  const p = live.profile(previous.version);
  if (!svc) {
    live.services.set(name, { version: previous.version, replicas: want, readyAt: t + p.startupMs, route: 'none', weight: 0 });
    changes.push({ object: `service/${name}`, field: 'version', before: null, after: previous.version });
    return { changes, waitMs: p.startupMs };
  }
  if (svc.version !== previous.version) {
    changes.push({ object: `service/${name}`, field: 'version', before: svc.version, after: previous.version });
    svc.version = previous.version;
    svc.readyAt = t + p.startupMs;
  }
  if (svc.replicas !== want) {
    changes.push({ object: `service/${name}`, field: 'replicas', before: svc.replicas, after: want });
    svc.replicas = want;
  }
  svc.stable = undefined;
  svc.route = 'none';
  svc.weight = 0;
  return { changes, waitMs: Math.max(0, svc.readyAt - t) };
}

/** Opens or moves the traffic split: `canary` % to the last deployed version. */
export function setWeight(live: LiveWorld, name: string, canary: number): Change[] {
  if (!Number.isFinite(canary) || canary < 0 || canary > 100) {
    throw new ProviderError(`sim: canary weight for ${name} must be between 0 and 100, got ${canary}`);
  }
  const svc = live.services.get(name);
  if (!svc) throw new ProviderError(`sim: cannot route traffic of ${name}: nothing is deployed (deploy it first)`);
  if (svc.route === 'split' && svc.weight === canary) return [];
  const before = svc.route === 'split' ? svc.weight : svc.route === 'stable' ? 0 : null;
  svc.route = 'split';
  svc.weight = canary;
  return [{ object: `route/${name}`, field: 'weight', before, after: canary }];
}

/** Closes the split: promotes at 100 %, otherwise sends everything to the stable version. */
export function finalize(live: LiveWorld, name: string): Change[] {
  const svc = live.services.get(name);
  if (!svc || svc.route !== 'split') return [];
  const changes: Change[] = [];
  if (svc.weight === 100) {
    changes.push({ object: `route/${name}`, field: 'weight', before: 100, after: null });
    if (svc.stable !== undefined && svc.stable !== svc.version) {
      changes.push({ object: `route/${name}`, field: 'stable', before: svc.stable, after: svc.version });
    }
    svc.stable = undefined;
    svc.route = 'none';
  } else {
    if (svc.weight !== 0) changes.push({ object: `route/${name}`, field: 'weight', before: svc.weight, after: 0 });
    svc.route = 'stable';
  }
  svc.weight = 0;
  return changes;
}
