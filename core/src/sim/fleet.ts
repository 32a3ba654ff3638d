import { ProviderError } from '../errors.js';
import { nodeIndex } from './nodes.js';
import { createFleet, type LiveWorld, type Transition, type UnitState } from './world-state.js';

// Progressive rollouts: the units of a service are the nodes, node-1..node-N in order. A node runs
// the service's version where its replicas reach (replica i on node i mod N), unless the fleet
// table says otherwise. The table holds only the nodes that differ, so every per-unit operation is
// O(1) and a finished rollout folds back into the service's version.

/** 0-based node index of `unit`. Throws `ProviderError` for a name that is not a node. */
export function unitIndex(live: LiveWorld, name: string, unit: string): number {
  const i = nodeIndex(unit, live.nodes.count);
  if (i === undefined) throw new ProviderError(`sim: ${unit} is not a unit of ${name}: its units are the nodes node-1..node-${live.nodes.count}`);
  return i;
}

/** What node `i` runs for the service (`null`: nothing), and when it is ready. */
export function unitAt(live: LiveWorld, name: string, i: number): UnitState {
  const own = live.fleets.get(name)?.units.get(i);
  if (own) return own;
  const svc = live.services.get(name);
  // Replica i sits on node i, so the first `warm` nodes keep serving while the rest start.
  if (svc && i < svc.replicas) return { version: svc.version, readyAt: i < (svc.warm ?? 0) ? 0 : svc.readyAt };
  return { version: null, readyAt: 0 };
}

/** The version running on `unit`; `undefined` when nothing of the service runs there. */
export function unitVersion(live: LiveWorld, name: string, unit: string): string | undefined {
  return unitAt(live, name, unitIndex(live, name, unit)).version ?? undefined;
}

/**
 * Runs `version` on one unit (`null`: removes the service from it). Idempotent. Deploying to a
 * crashed node is accepted: its unit health says it is down. A unit put back to the service's own
 * version leaves the table at once (so the table stays sparse) and counts as ready; the caller
 * still waits the startup.
 */
export function setUnit(live: LiveWorld, name: string, unit: string, version: string | null): Transition {
  const i = unitIndex(live, name, unit);
  const now = unitAt(live, name, i);
  if (now.version === version) return { changes: [], waitMs: version === null ? 0 : Math.max(0, now.readyAt - live.elapsed()) };
  const fleet = live.fleets.get(name) ?? createFleet();
  const old = fleet.units.get(i);
  if (old) count(fleet.counts, old.version, -1);
  const svc = live.services.get(name);
  const waitMs = version === null ? 0 : live.profile(version).startupMs;
  if (svc && i < svc.replicas && svc.version === version) {
    fleet.units.delete(i);
  } else {
    const readyAt = live.elapsed() + waitMs;
    fleet.units.set(i, { version, readyAt });
    fleet.maxReadyAt = Math.max(fleet.maxReadyAt, readyAt);
    count(fleet.counts, version, 1);
  }
  if (fleet.units.size > 0) live.fleets.set(name, fleet);
  else live.fleets.delete(name);
  return { changes: [{ object: `node/${unit}`, field: 'version', before: now.version, after: version }], waitMs };
}

function count(counts: Map<string | null, number>, version: string | null, by: number): void {
  const n = (counts.get(version) ?? 0) + by;
  if (n > 0) counts.set(version, n);
  else counts.delete(version);
}

/**
 * Folds a finished rollout into the service: once every node runs the same version and all of
 * them are ready, that is the service's version and the table empties (O(N), once per rollout).
 * Called before every read, like the timed failures.
 */
export function compactFleets(live: LiveWorld): void {
  const n = live.nodes.count;
  for (const [name, fleet] of live.fleets) {
    if (fleet.units.size !== n || fleet.counts.size !== 1 || fleet.maxReadyAt > live.elapsed()) continue;
    const version = fleet.counts.keys().next().value as string | null;
    live.fleets.delete(name);
    const svc = live.services.get(name);
    if (version === null) live.services.delete(name);
    else if (!svc) live.services.set(name, { version, replicas: n, readyAt: fleet.maxReadyAt, route: 'none', weight: 0 });
    else {
      svc.version = version;
      svc.replicas = Math.max(svc.replicas, n);
      svc.readyAt = fleet.maxReadyAt;
      delete svc.warm;
    }
  }
}

/** Nodes of a fleet by state: running something, down, ready per version. */
export interface FleetView {
  running: number;
  down: number;
  ready: number;
  byVersion: Map<string, number>;
}

/**
 * Counts the nodes of a service that has per-unit versions. O(differing units + crashed nodes):
 * the service's own version is counted arithmetically.
 */
export function fleetView(live: LiveWorld, name: string): FleetView {
  const t = live.elapsed();
  const { units } = live.fleets.get(name) ?? createFleet();
  const down = live.nodes.down;
  const view: FleetView = { running: 0, down: 0, ready: 0, byVersion: new Map() };
  const add = (version: string, k: number) => {
    if (k <= 0) return;
    view.byVersion.set(version, (view.byVersion.get(version) ?? 0) + k);
    view.ready += k;
  };
  const svc = live.services.get(name);
  const hosted = svc ? Math.min(svc.replicas, live.nodes.count) : 0;
  const warm = svc && t < svc.readyAt ? Math.min(svc.warm ?? 0, hosted) : hosted;
  // The service's own version runs on the hosted nodes that have no entry; the first `warm` serve.
  let baseRunning = hosted;
  let baseReady = warm;
  for (const [i, u] of units) {
    if (i < hosted) baseRunning--;
    if (i < warm) baseReady--;
    if (u.version === null) continue;
    view.running++;
    if (down.has(i)) view.down++;
    else if (u.readyAt <= t) add(u.version, 1);
  }
  for (const j of down) {
    if (units.has(j)) continue;
    if (j < hosted) view.down++;
    if (j < warm) baseReady--;
  }
  view.running += baseRunning;
  if (svc?.version) add(svc.version, baseReady);
  return view;
}
