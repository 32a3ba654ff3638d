import { WorkflowConfigError } from '../errors.js';
import type { Change } from '../model/events.js';
import type { HealthReport } from '../model/results.js';
import type { Clock } from '../ports/clock.js';
import type { SimConfig } from './config.js';
import { createFailures, type SimOperation, simConfigIssues } from './failures.js';
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
export { REQUESTS_PER_REPLICA, UNHEALTHY_ERROR_RATE } from './measurements.js';
export { nodeIndex } from './nodes.js';
export { mixtureP99, noiseUnit, percent } from './traffic-math.js';
export {
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
 * - **Placement.** A service's replicas are spread round-robin from node-1, so replica `i` runs on
 *   node `i mod N`. A replica on a crashed node is not ready; nothing is rescheduled.
 * - **Capacity.** Free units = ready nodes × `capacityPerNode` − Σ cpu × replicas on ready nodes
 *   (one aggregate, not per-node bin packing). A deploy replaces the service's replicas, so it needs
 *   `replicas × cpu` of the new version out of the free units plus what the old replicas release.
 *   Reverts are never refused for capacity (a rollback must be able to run).
 * - **Traffic.** Each service has the version last deployed (`version`) and, once a second version
 *   was deployed, the version serving the stable share (`stable`). Its route is one of:
 *   `none` (no router involved: every request goes to `version`, what a plain deploy does),
 *   `split` (the router sends `weight` % to `version` and the rest to `stable`), or
 *   `stable` (the router was finalised during a rollback: everything goes to `stable`).
 *   Finalising a split at 100 % promotes `version` to stable; a revert leaves one version and no
 *   route. Metrics measure the traffic mix; target health looks at `version` only.
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
   * Rolls `version` out to a service (replacing its replicas). Idempotent: the same version and
   * replicas change nothing. Throws `ProviderError` when capacity is short. Returns the changes
   * and how long the caller must wait until the replicas are ready.
   */
  deploy(name: string, version: string, replicas?: number): Transition;
  /** Puts `previous` back (one version, no route), or removes the service when it is undefined/null. */
  revert(name: string, previous: { version: string; replicas?: number } | null | undefined): Transition;
  /** Opens or moves the traffic split: `canary` % to the last deployed version. */
  setWeight(name: string, canary: number): Change[];
  /** The canary percentage in force (0 when no split is open). */
  weight(name: string): number;
  /** Closes the split: promotes at 100 %, otherwise sends everything to the stable version. */
  finalize(name: string): Change[];
  /** Readiness of the last deployed version. */
  health(name: string): HealthReport;
  /** Which versions serve the service's requests, with their share (0–1); empty when none. */
  traffic(name: string): { version: string; share: number }[];
  /** Measured failing share of requests (0–1); `undefined` when the service serves no traffic. */
  errorRate(name: string): number | undefined;
  /** Measured p99 latency in ms of the traffic mix; `undefined` when it serves no traffic. */
  latencyP99(name: string): number | undefined;
  /** Measured requests per second; `undefined` when it serves no traffic. */
  requestRate(name: string): number | undefined;
  /** Replicas of the last deployed version that are ready; `undefined` when nothing is deployed. */
  readyReplicas(name: string): number | undefined;
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
  /** Serialisable state (nodes, services, routes, database, failure counters, elapsed time). */
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

  // Timed failures take effect on the first call that could observe them, so an idle world costs nothing.
  const tick = () => {
    for (const f of failures.due()) {
      if (f.kind === 'node-crash') {
        const first = f.node !== undefined ? (nodeIndex(f.node, nodes.count) as number) : nodes.count - f.count;
        for (let k = 0; k < f.count; k++) nodes.markDown((first + k) % nodes.count);
      } else {
        database.up = false;
      }
    }
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
      return svc && { name, ...svc };
    },
    serviceNames: () => [...services.keys()],
    deploy: ticked(rollout.deploy),
    revert: ticked(rollout.revert),
    setWeight: ticked(rollout.setWeight),
    weight(name) {
      tick();
      const svc = services.get(name);
      return svc?.route === 'split' ? svc.weight : 0;
    },
    finalize: ticked(rollout.finalize),
    health: ticked(measure.health),
    traffic: ticked(measure.traffic),
    errorRate: ticked(measure.errorRate),
    latencyP99: ticked(measure.latencyP99),
    requestRate: ticked(measure.requestRate),
    readyReplicas: ticked(measure.readyReplicas),
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
