import { WorkflowConfigError } from '../errors.js';
import type { Change } from '../model/events.js';
import type { HealthReport } from '../model/results.js';
import type { Clock } from '../ports/clock.js';
import * as candidates from './candidates.js';
import type { SimConfig } from './config.js';
import { createFailures, type SimOperation, simConfigIssues } from './failures.js';
import * as fleet from './fleet.js';
import * as health from './health.js';
import * as measure from './measurements.js';
import { nodeIndex } from './nodes.js';
import * as rollout from './rollout.js';
import {
  createLiveWorld,
  type LiveWorld,
  readSavedState,
  saveState,
  type ServiceInfo,
  type SimWorldState,
  type Transition,
  type VersionProfile,
} from './world-state.js';

// Callers import the simulation from this module only, so the modules behind it can be rearranged freely.
export { type SimOperation, simConfigIssues } from './failures.js';
export { UNHEALTHY_ERROR_RATE } from './health.js';
export { REQUESTS_PER_REPLICA, type Served, type TrafficPart } from './measurements.js';
export { nodeIndex } from './nodes.js';
export { mixtureP99, noiseUnit, percent } from './traffic-math.js';
export {
  type CandidateState,
  DEFAULT_PROFILE,
  type RouteMode,
  type ServiceInfo,
  SIM_STATE_FORMAT,
  type SimWorldState,
  type Transition,
  type VersionProfile,
} from './world-state.js';

/**
 * The simulated infrastructure of one environment: `nodes` nodes (node-1..node-N) offering
 * `capacityPerNode` units each, services running versions, a database, traffic routes, and the
 * failures of `config.failures`.
 *
 * The model, kept simple enough to reason about and cheap enough for 10,000-node fleets:
 *
 * - **Placement.** A set of replicas is spread round-robin from node-1, so replica `i` runs on
 *   node `i mod N`. A replica on a crashed node is not ready; nothing is rescheduled.
 * - **Stable and candidate** (like Argo Rollouts' ReplicaSets). A service runs its stable version
 *   (`version`, `replicas`) and, during a canary or blue-green, a candidate beside it. `deploy`
 *   and `revert` replace the stable version and end any candidate; `promote` makes the candidate
 *   the stable version at the stable's full scale (its count when the candidate started);
 *   `removeCandidate` drops it and gives the stable version its full scale back.
 * - **Readiness.** New replicas are ready after their version's `startup`. Scaling up keeps the
 *   running replicas serving (`warm`); a new version starts with none ready.
 * - **Capacity.** Free units = ready nodes × `capacityPerNode` − Σ cpu × replicas on ready nodes
 *   (one aggregate, not per-node bin packing). A deploy replaces replicas, so it may use what they
 *   release; a candidate runs beside the stable replicas, so it needs free units. Reverts,
 *   removals and scale-downs are never refused (a rollback must be able to run).
 * - **Traffic.** The stable version serves everything until something sends requests to the
 *   candidate (a new candidate is dark, as blue-green's green must be): the router's split
 *   (`setWeight`) sends it `weight` %, or, with no router, `scale` makes requests spread by ready
 *   replicas (candidate ready / all ready). `finalize` drops the split: back to all-stable. A side
 *   with no ready replica gets nothing. Metrics measure this mix; health looks at one side.
 * - **Fleets** (progressive rollouts). The units of a service are the nodes. A node runs the
 *   service's version where its replicas reach, unless set per unit; only the differing nodes are
 *   stored, and once every node runs one version (all ready) it becomes the service's version.
 *   Mid-rollout, the stable side is counted per node: the error rate is the mean over ready nodes.
 * - **Time.** Everything is measured in virtual milliseconds since the world was created
 *   (`elapsed()`); failure times (`at`) count from there. Saved state carries the elapsed time, so
 *   a restored world continues where it stopped (plus any time the clock moved since the save).
 */
export interface SimWorld {
  readonly config: SimConfig;
  /** Milliseconds on the clock since the world was created (continued across restores). */
  elapsed(): number;
  /**
   * Applies the injected failures to one call of `operation` (partition, api-errors,
   * compensation-fails), consuming their counters. Throws `ProviderError`; returns when the call
   * may go ahead. `subject` (a service name) only makes the message precise.
   */
  guard(operation: SimOperation, subject?: string): void;
  /** How a version behaves: its profile with defaults, overridden by `bad-version` failures. */
  profile(version: string): VersionProfile;
  /** A copy of a service's state; `undefined` when nothing is deployed. */
  service(name: string): ServiceInfo | undefined;
  /** Names of the services that have something deployed. */
  serviceNames(): string[];
  /**
   * Rolls `version` out as the stable version (replacing its replicas, ending any candidate, split
   * or per-unit versions). Idempotent. Throws `ProviderError` when capacity is short. Returns the
   * changes and how long the caller must wait until the replicas are ready.
   */
  deploy(name: string, version: string, replicas?: number): Transition;
  /** Puts `previous` back (one version, no candidate, no split), or removes the service when it is undefined/null. */
  revert(name: string, previous: { version: string; replicas?: number } | null | undefined): Transition;
  /** The stable replica count a full-scale candidate matches; `undefined` when nothing is deployed. */
  fullScale(name: string): number | undefined;
  /**
   * Starts (or rescales) a candidate beside the stable version; on a first deploy it runs alone and
   * `firstFullScale` (default one per node) is its full scale. Throws `ProviderError` when capacity is short.
   */
  deployCandidate(name: string, version: string, replicas: number, firstFullScale?: number): Transition;
  /**
   * Sets the stable and candidate replica counts; without a router split, requests then spread by
   * ready replicas. Throws `ProviderError` when the growth does not fit.
   */
  scale(name: string, split: { stable: number; candidate: number }): Transition;
  /** The candidate becomes the stable version at full scale; the split goes. Idempotent. */
  promote(name: string): Transition;
  /** Removes the candidate and the split, restoring the stable's full scale. Idempotent. */
  removeCandidate(name: string): Transition;
  /** Opens or moves the router's split: `canary` % of the requests to the candidate. */
  setWeight(name: string, canary: number): Change[];
  /** The canary percentage in force (0 when no split is open). */
  weight(name: string): number;
  /** Drops the split: everything to the stable version, even while the candidate runs. Never promotes. */
  finalize(name: string): Change[];
  /** The units of a fleet, in rollout order: node-1..node-N. */
  units(): readonly string[];
  /** The version running on one unit; `undefined` when nothing runs there. Throws `ProviderError` for an unknown unit. */
  unitVersion(name: string, unit: string): string | undefined;
  /** Runs `version` on one unit (`null`: removes the service from it). Idempotent. */
  setUnit(name: string, unit: string, version: string | null): Transition;
  /** Readiness of the stable version (every node running the service, mid-fleet-rollout). */
  health(name: string): HealthReport;
  /** Readiness of the candidate's replicas. */
  candidateHealth(name: string): HealthReport;
  /** Readiness of one unit. */
  unitHealth(name: string, unit: string): HealthReport;
  /** Which versions serve the service's requests, with their share (0–1); empty when none. */
  traffic(name: string): measure.Served[];
  /** Measured failing share of the requests of `part` (0–1); `undefined` when it gets none. */
  errorRate(name: string, part?: measure.TrafficPart): number | undefined;
  /** Measured p99 latency in ms of the requests of `part`; `undefined` when it gets none. */
  latencyP99(name: string, part?: measure.TrafficPart): number | undefined;
  /** Measured requests per second; `undefined` when it serves no traffic. */
  requestRate(name: string): number | undefined;
  /** Ready replicas of the stable side; `undefined` when nothing is deployed. */
  readyReplicas(name: string): number | undefined;
  /** Ready replicas of the candidate; `undefined` when no candidate runs. */
  candidateReadyReplicas(name: string): number | undefined;
  /** Capacity units: ready nodes × capacity, used by replicas on them, and free (may be negative when overcommitted). */
  capacity(): { total: number; used: number; free: number };
  /** Node counts and the names of up to `limit` crashed nodes. */
  nodes(limit?: number): { total: number; ready: number; down: string[] };
  /** Crashes nodes by name (node-3) or 1-based index; already crashed ones are left alone. */
  crashNodes(nodes: (string | number)[]): void;
  /** Brings crashed nodes back. */
  recoverNodes(nodes: (string | number)[]): void;
  database(): { up: boolean; schemaVersion: number };
  /** Sets the database state by hand (tests, scenarios such as a migration). */
  setDatabase(state: { up?: boolean; schemaVersion?: number }): void;
  /** Extra time a probe takes (`slow-probe`): the longest delay matching any of `names`. */
  probeDelay(...names: (string | undefined)[]): number;
  /** Serialisable state (nodes, services, candidates, routes, per-unit versions, database, failure counters, elapsed time). */
  toJSON(): SimWorldState;
}

/** Builds a world from its config, or restores it from a journal's saved state. */
export function createSimWorld(config: SimConfig, clock: Clock, saved?: unknown): SimWorld {
  const issues = simConfigIssues(config);
  if (issues.length > 0) throw new WorkflowConfigError(issues, 'invalid simulation');

  const state = saved !== undefined && saved !== null ? readSavedState(saved, config.nodes) : undefined;
  const live = createLiveWorld(config, clock, state);
  const failures = createFailures(config.failures, live.elapsed, state?.failures);
  const { nodes, services, database } = live;

  // Timed failures take effect on the first call that could observe them, so an idle world costs
  // nothing; finished fleet rollouts fold back at the same moment, so every reader sees one state.
  const tick = () => {
    for (const f of failures.due()) {
      if (f.kind === 'node-crash') {
        const first = f.node !== undefined ? (nodeIndex(f.node, nodes.count) as number) : nodes.count - f.count;
        for (let k = 0; k < f.count; k++) nodes.markDown((first + k) % nodes.count);
      } else if (f.kind === 'migration-applied') {
        database.schemaVersion = f.schemaVersion;
      } else {
        database.up = false;
      }
    }
    if (live.fleets.size > 0) fleet.compactFleets(live);
  };
  // Every method that reads or changes the world applies due failures first.
  const ticked =
    <A extends unknown[], R>(fn: (live: LiveWorld, ...args: A) => R) =>
    (...args: A): R => {
      tick();
      return fn(live, ...args);
    };

  return {
    config,
    elapsed: live.elapsed,
    guard(operation, subject) {
      tick();
      failures.guard(operation, subject);
    },
    profile: live.profile,
    service(name) {
      tick();
      const svc = services.get(name);
      return svc && { name, ...structuredClone(svc) };
    },
    serviceNames: () => [...services.keys()],
    deploy: ticked(rollout.deploy),
    revert: ticked(rollout.revert),
    fullScale: ticked(candidates.fullScale),
    deployCandidate: ticked(candidates.deployCandidate),
    scale: ticked(candidates.scale),
    promote: ticked(candidates.promote),
    removeCandidate: ticked(candidates.removeCandidate),
    setWeight: ticked(rollout.setWeight),
    weight(name) {
      tick();
      const svc = services.get(name);
      return svc?.route === 'split' ? svc.weight : 0;
    },
    finalize: ticked(rollout.finalize),
    units: () => nodes.names(),
    unitVersion: ticked(fleet.unitVersion),
    setUnit: ticked(fleet.setUnit),
    health: ticked(health.health),
    candidateHealth: ticked(health.candidateHealth),
    unitHealth: ticked(health.unitHealth),
    traffic: ticked(measure.traffic),
    errorRate: ticked(measure.errorRate),
    latencyP99: ticked(measure.latencyP99),
    requestRate: ticked(measure.requestRate),
    readyReplicas: ticked(measure.readyReplicas),
    candidateReadyReplicas: ticked(measure.candidateReadyReplicas),
    capacity() {
      tick();
      return live.capacity();
    },
    nodes(limit = 10) {
      tick();
      return { total: nodes.count, ready: nodes.count - nodes.down.size, down: nodes.downNames(limit) };
    },
    crashNodes(list) {
      tick();
      for (const n of list) nodes.markDown(nodes.toIndex(n));
    },
    recoverNodes(list) {
      tick();
      for (const n of list) nodes.markUp(nodes.toIndex(n));
    },
    database() {
      tick();
      return { ...database };
    },
    setDatabase(change) {
      tick();
      if (change.up !== undefined) database.up = change.up;
      if (change.schemaVersion !== undefined) database.schemaVersion = change.schemaVersion;
    },
    probeDelay: (...names) => failures.probeDelay(names),
    toJSON() {
      tick();
      return saveState(live, failures.save());
    },
  };
}
