import { z } from 'zod';
import { type ConfigIssue, JournalError, ProviderError, WorkflowConfigError } from '../errors.js';
import type { Change } from '../model/events.js';
import type { HealthReport } from '../model/results.js';
import type { Clock } from '../ports/clock.js';
import type { FailureSpec, SimConfig } from './config.js';

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

export type SimOperation = 'deploy' | 'health' | 'current' | 'revert' | 'set-weight' | 'get-weight' | 'finalize' | 'probe' | 'metric';

export interface VersionProfile {
  errorRate: number;
  latencyMs: number;
  cpu: number;
  startupMs: number;
}

export type RouteMode = 'none' | 'split' | 'stable';

export interface ServiceInfo {
  name: string;
  version: string;
  replicas: number;
  /** Elapsed time at which the replicas of `version` are ready. */
  readyAt: number;
  stable?: string;
  route: RouteMode;
  weight: number;
}

/** What a state change did, and how long its replicas take to start. */
export interface Transition {
  changes: Change[];
  waitMs: number;
}

export const SIM_STATE_FORMAT = 'rollgate/sim-world@1';

/** Defaults of a version absent from `config.versions` (the schema's defaults). */
export const DEFAULT_PROFILE: Readonly<VersionProfile> = Object.freeze({ errorRate: 0.001, latencyMs: 80, cpu: 1, startupMs: 10_000 });
/** Above this failing share, a version's readiness fails. */
export const UNHEALTHY_ERROR_RATE = 0.05;
/** Requests per second one ready replica serves. */
export const REQUESTS_PER_REPLICA = 10;
/** Relative amplitude of the measurement noise (±2.5 %). */
const NOISE = 0.05;
const LN100 = Math.log(100);

const serviceStateSchema = z.object({
  version: z.string(),
  replicas: z.number().int().nonnegative(),
  readyAt: z.number(),
  stable: z.string().optional(),
  route: z.enum(['none', 'split', 'stable']),
  weight: z.number().min(0).max(100),
});
type ServiceState = z.infer<typeof serviceStateSchema>;

const stateSchema = z.object({
  format: z.literal(SIM_STATE_FORMAT),
  elapsedMs: z.number().nonnegative(),
  savedAt: z.number(),
  nodes: z.number().int().positive(),
  down: z.array(z.number().int().positive()),
  services: z.record(z.string(), serviceStateSchema),
  database: z.object({ up: z.boolean(), schemaVersion: z.number().int() }),
  failures: z.array(z.object({ left: z.number().int().nonnegative().nullable().optional(), fired: z.boolean().optional() })),
});
export type SimWorldState = z.infer<typeof stateSchema>;

interface FailureState {
  /** Calls left to fail (api-errors, compensation-fails); `null` means always. */
  left?: number | null;
  /** A timed failure (node-crash, database-down) has happened. */
  fired?: boolean;
}

/** Problems in a sim config that the schema cannot see (node names that do not exist). */
export function simConfigIssues(config: SimConfig, path = 'sim'): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.failures.forEach((f, i) => {
    if (f.kind !== 'node-crash') return;
    const where = `${path}.failures[${i}]`;
    if (f.node !== undefined && nodeIndex(f.node, config.nodes) === undefined) {
      issues.push({
        path: `${where}.node`,
        message: `${f.node} is not a node of the simulation: it has ${config.nodes} node${config.nodes === 1 ? '' : 's'} (node-1..node-${config.nodes})`,
      });
    }
    if (f.count > config.nodes) {
      issues.push({ path: `${where}.count`, message: `cannot crash ${f.count} nodes: the simulation has ${config.nodes}` });
    }
  });
  return issues;
}

/** Builds a world from its config, or restores it from a journal's saved state. */
export function createSimWorld(config: SimConfig, clock: Clock, saved?: unknown): SimWorld {
  const issues = simConfigIssues(config);
  if (issues.length > 0) throw new WorkflowConfigError(issues, 'invalid simulation');

  const nodeCount = config.nodes;
  const failures: readonly FailureSpec[] = config.failures;
  const down = new Set<number>(); // 0-based node indices
  const services = new Map<string, ServiceState>();
  let database = { up: config.database.up, schemaVersion: config.database.schemaVersion };
  let counters: FailureState[] = failures.map((f) =>
    f.kind === 'api-errors' ? { left: f.count } : f.kind === 'compensation-fails' ? { left: f.count ?? null } : {},
  );
  let origin = clock.now();
  const restoring = saved !== undefined && saved !== null;

  if (restoring) {
    const parsed = stateSchema.safeParse(saved);
    if (!parsed.success) {
      throw new JournalError(`the saved simulation state is unreadable (${parsed.error.issues[0]?.message ?? 'invalid'}); start a new run`);
    }
    const s = parsed.data;
    if (s.nodes !== nodeCount) {
      throw new JournalError(`the saved simulation has ${s.nodes} nodes but the workflow now declares ${nodeCount}; start a new run`);
    }
    for (const n of s.down.filter((k) => k <= nodeCount)) down.add(n - 1);
    for (const [name, svc] of Object.entries(s.services)) services.set(name, { ...svc });
    database = { ...s.database };
    // Counters are kept per failure; a failure list edited since the save starts fresh past the old ones.
    counters = counters.map((c, i) => (s.failures[i] ? { ...c, ...s.failures[i] } : c));
    const now = clock.now();
    origin = now - (s.elapsedMs + Math.max(0, now - s.savedAt));
  }

  // Precomputed failure lists, so the per-call work is a short loop over the relevant kinds only.
  const indexed = failures.map((f, i) => ({ f, i }));
  const apiErrors = indexed.filter((x): x is { f: Extract<FailureSpec, { kind: 'api-errors' }>; i: number } => x.f.kind === 'api-errors');
  const compensation = indexed.filter(
    (x): x is { f: Extract<FailureSpec, { kind: 'compensation-fails' }>; i: number } => x.f.kind === 'compensation-fails',
  );
  const partitions = failures.filter((f): f is Extract<FailureSpec, { kind: 'partition' }> => f.kind === 'partition');
  const slowProbes = failures.filter((f): f is Extract<FailureSpec, { kind: 'slow-probe' }> => f.kind === 'slow-probe');
  const timed = indexed.filter(
    (x): x is { f: Extract<FailureSpec, { kind: 'node-crash' | 'database-down' }>; i: number } =>
      x.f.kind === 'node-crash' || x.f.kind === 'database-down',
  );
  const badVersions = new Map<string, Extract<FailureSpec, { kind: 'bad-version' }>>();
  for (const f of failures) if (f.kind === 'bad-version') badVersions.set(f.version, f);

  const profiles = new Map<string, VersionProfile>();
  const profile = (version: string): VersionProfile => {
    let p = profiles.get(version);
    if (!p) {
      const v = config.versions[version];
      const bad = badVersions.get(version);
      p = {
        errorRate: bad?.errorRate ?? v?.errorRate ?? DEFAULT_PROFILE.errorRate,
        latencyMs: bad?.latencyMs ?? v?.latencyMs ?? DEFAULT_PROFILE.latencyMs,
        cpu: v?.cpu ?? DEFAULT_PROFILE.cpu,
        startupMs: v?.startup ?? DEFAULT_PROFILE.startupMs,
      };
      profiles.set(version, p);
    }
    return p;
  };

  const elapsed = () => clock.now() - origin;

  // --- timed failures (node crashes, database down): applied lazily, O(1) when nothing is due ---
  let nextEventAt = Infinity;
  const planNext = () => {
    nextEventAt = Infinity;
    for (const { f, i } of timed) if (!counters[i]?.fired) nextEventAt = Math.min(nextEventAt, atOf(f));
  };
  const tick = () => {
    if (elapsed() < nextEventAt) return;
    const t = elapsed();
    for (const { f, i } of timed) {
      const c = counters[i] as FailureState;
      if (c.fired || atOf(f) > t) continue;
      c.fired = true;
      if (f.kind === 'node-crash') {
        const first = f.node !== undefined ? (nodeIndex(f.node, nodeCount) as number) : nodeCount - f.count;
        for (let k = 0; k < f.count; k++) markDown((first + k) % nodeCount);
      } else {
        database.up = false;
      }
    }
    planNext();
  };

  // --- nodes and placement ---
  let downRev = 0;
  const markDown = (index: number) => {
    if (!down.has(index)) {
      down.add(index);
      downRev++;
    }
  };
  const onDownCache = new Map<number, { rev: number; count: number }>();
  /** Replicas (of `replicas`, round-robin from node-1) that sit on crashed nodes. O(crashed) once per change. */
  const onDown = (replicas: number): number => {
    if (down.size === 0 || replicas === 0) return 0;
    const hit = onDownCache.get(replicas);
    if (hit && hit.rev === downRev) return hit.count;
    const base = Math.floor(replicas / nodeCount);
    const extra = replicas % nodeCount;
    let count = base * down.size;
    if (extra > 0) for (const j of down) if (j < extra) count++;
    if (onDownCache.size > 64) onDownCache.clear();
    onDownCache.set(replicas, { rev: downRev, count });
    return count;
  };
  const onUp = (replicas: number) => replicas - onDown(replicas);
  const toIndex = (node: string | number): number => {
    const i = typeof node === 'number' ? (Number.isInteger(node) && node >= 1 && node <= nodeCount ? node - 1 : undefined) : nodeIndex(node, nodeCount);
    if (i === undefined) throw new ProviderError(`sim: ${String(node)} is not a node (node-1..node-${nodeCount})`);
    return i;
  };
  /** Names of up to `limit` crashed nodes, optionally only those below `below` (the ones hosting replicas). */
  const downNames = (limit: number, below = nodeCount): string[] => {
    const names: string[] = [];
    if (limit <= 0) return names;
    for (const j of down) {
      if (j >= below) continue;
      names.push(`node-${j + 1}`);
      if (names.length >= limit) break;
    }
    return names;
  };

  const capacity = () => {
    const total = (nodeCount - down.size) * config.capacityPerNode;
    let used = 0;
    for (const svc of services.values()) used += profile(svc.version).cpu * onUp(svc.replicas);
    return { total, used, free: total - used };
  };

  if (!restoring) {
    for (const [name, svc] of Object.entries(config.services)) {
      services.set(name, { version: svc.version, replicas: svc.replicas ?? nodeCount, readyAt: 0, route: 'none', weight: 0 });
    }
  }
  planNext();

  // --- traffic ---
  const shares = (svc: ServiceState): { version: string; share: number }[] => {
    if (svc.stable === undefined || svc.stable === svc.version || svc.route === 'none') return [{ version: svc.version, share: 1 }];
    if (svc.route === 'stable') return [{ version: svc.stable, share: 1 }];
    const canary = svc.weight / 100;
    if (canary >= 1) return [{ version: svc.version, share: 1 }];
    if (canary <= 0) return [{ version: svc.stable, share: 1 }];
    return [
      { version: svc.stable, share: 1 - canary },
      { version: svc.version, share: canary },
    ];
  };
  /** The service when it serves requests (deployed, with a replica on a ready node). */
  const serving = (name: string): ServiceState | undefined => {
    tick();
    const svc = services.get(name);
    return svc && onUp(svc.replicas) > 0 ? svc : undefined;
  };
  const noise = (name: string, metric: number): number => 1 + NOISE * noiseUnit(config.seed, name, metric, Math.floor(elapsed() / 1000));

  const info = (name: string, svc: ServiceState): ServiceInfo => ({ name, ...svc });

  const world: SimWorld = {
    config,
    elapsed,

    guard(operation, subject) {
      tick();
      const t = elapsed();
      const what = `${operation}${subject ? ` of ${subject}` : ''}`;
      for (const p of partitions) {
        const from = atOf(p);
        if (t >= from && t < from + p.duration) {
          throw new ProviderError(
            `sim: control plane unreachable (network partition) during ${what}; it heals ${Math.ceil((from + p.duration - t) / 1000)}s from now, retry then`,
            { retryable: true },
          );
        }
      }
      for (const { f, i } of apiErrors) {
        const c = counters[i] as FailureState;
        if ((f.operation !== 'any' && f.operation !== operation) || !c.left || t < atOf(f)) continue;
        c.left--;
        // Every injected status is transient: 429 is a rate limit, 500 and 503 are 5xx answers that
        // a retry may get past, so all three are retryable.
        throw new ProviderError(`sim: ${STATUS_TEXT[f.status]} (${f.status}) on ${what}; retry later`, { retryable: true });
      }
      if (operation === 'revert' || operation === 'finalize') {
        for (const { f, i } of compensation) {
          const c = counters[i] as FailureState;
          if ((f.operation !== 'any' && f.operation !== operation) || c.left === 0) continue;
          if (typeof c.left === 'number') c.left--;
          throw new ProviderError(`sim: ${what} failed (injected compensation failure); undo it by hand`, { retryable: false });
        }
      }
    },

    profile,

    service(name) {
      tick();
      const svc = services.get(name);
      return svc && info(name, svc);
    },

    serviceNames: () => [...services.keys()],

    deploy(name, version, replicas) {
      tick();
      const t = elapsed();
      const svc = services.get(name);
      const want = replicas ?? svc?.replicas ?? nodeCount;
      if (svc && svc.version === version && svc.replicas === want) return { changes: [], waitMs: Math.max(0, svc.readyAt - t) };
      const p = profile(version);
      const needs = p.cpu * onUp(want);
      const released = svc ? profile(svc.version).cpu * onUp(svc.replicas) : 0;
      const available = capacity().free + released;
      if (needs > available) {
        throw new ProviderError(
          `sim: not enough capacity for ${name} ${version}: needs ${needs} units, ${Math.max(0, available)} free; add nodes, lower the replicas or free capacity`,
        );
      }
      const changes: Change[] = [];
      if (!svc) {
        services.set(name, { version, replicas: want, readyAt: t + p.startupMs, route: 'none', weight: 0 });
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
    },

    revert(name, previous) {
      tick();
      const t = elapsed();
      const svc = services.get(name);
      if (!previous) {
        if (!svc) return { changes: [], waitMs: 0 };
        services.delete(name);
        return { changes: [{ object: `service/${name}`, field: 'version', before: svc.version, after: null }], waitMs: 0 };
      }
      const want = previous.replicas ?? svc?.replicas ?? nodeCount;
      const changes: Change[] = [];
      const p = profile(previous.version);
      if (!svc) {
        services.set(name, { version: previous.version, replicas: want, readyAt: t + p.startupMs, route: 'none', weight: 0 });
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
    },

    setWeight(name, canary) {
      tick();
      if (!Number.isFinite(canary) || canary < 0 || canary > 100) {
        throw new ProviderError(`sim: canary weight for ${name} must be between 0 and 100, got ${canary}`);
      }
      const svc = services.get(name);
      if (!svc) throw new ProviderError(`sim: cannot route traffic of ${name}: nothing is deployed (deploy it first)`);
      if (svc.route === 'split' && svc.weight === canary) return [];
      const before = svc.route === 'split' ? svc.weight : svc.route === 'stable' ? 0 : null;
      svc.route = 'split';
      svc.weight = canary;
      return [{ object: `route/${name}`, field: 'weight', before, after: canary }];
    },

    weight(name) {
      tick();
      const svc = services.get(name);
      return svc?.route === 'split' ? svc.weight : 0;
    },

    finalize(name) {
      tick();
      const svc = services.get(name);
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
    },

    health(name) {
      tick();
      const svc = services.get(name);
      if (!svc) return { healthy: false, ready: 0, total: 0, message: `nothing is deployed for ${name}` };
      const t = elapsed();
      const total = svc.replicas;
      const starting = t < svc.readyAt;
      const ready = starting ? 0 : onUp(total);
      const problems: string[] = [];
      if (starting) problems.push(`starting: ${svc.version} is ready in ${Math.ceil((svc.readyAt - t) / 1000)}s`);
      else if (ready < total) {
        const names = downNames(3, total >= nodeCount ? nodeCount : total);
        problems.push(`${total - ready} of ${total} replicas are on crashed nodes (${names.join(', ')}${down.size > names.length ? ', …' : ''})`);
      }
      const rate = profile(svc.version).errorRate;
      if (rate > UNHEALTHY_ERROR_RATE) problems.push(`readiness failing: ${percent(rate)} of requests fail`);
      return problems.length === 0
        ? { healthy: true, ready, total, message: total === 0 ? `${svc.version} is scaled to zero` : `${svc.version} is ready` }
        : { healthy: false, ready, total, message: problems.join('; ') };
    },

    traffic(name) {
      const svc = serving(name);
      return svc ? shares(svc) : [];
    },

    errorRate(name) {
      const svc = serving(name);
      if (!svc) return undefined;
      let rate = 0;
      for (const s of shares(svc)) rate += s.share * profile(s.version).errorRate;
      return Math.min(1, rate * noise(name, 1));
    },

    latencyP99(name) {
      const svc = serving(name);
      if (!svc) return undefined;
      return mixtureP99(shares(svc).map((s) => ({ share: s.share, p99: profile(s.version).latencyMs }))) * noise(name, 2);
    },

    requestRate(name) {
      const svc = serving(name);
      if (!svc) return undefined;
      return REQUESTS_PER_REPLICA * onUp(svc.replicas) * noise(name, 3);
    },

    readyReplicas(name) {
      tick();
      const svc = services.get(name);
      if (!svc) return undefined;
      return elapsed() < svc.readyAt ? 0 : onUp(svc.replicas);
    },

    capacity() {
      tick();
      return capacity();
    },

    nodes(limit = 10) {
      tick();
      return { total: nodeCount, ready: nodeCount - down.size, down: downNames(limit) };
    },

    crashNodes(nodes) {
      tick();
      for (const n of nodes) markDown(toIndex(n));
    },

    recoverNodes(nodes) {
      tick();
      for (const n of nodes) if (down.delete(toIndex(n))) downRev++;
    },

    database() {
      tick();
      return { ...database };
    },

    setDatabase(state) {
      tick();
      if (state.up !== undefined) database.up = state.up;
      if (state.schemaVersion !== undefined) database.schemaVersion = state.schemaVersion;
    },

    probeDelay(...names) {
      let delay = 0;
      for (const f of slowProbes) if (f.probe === undefined || names.includes(f.probe)) delay = Math.max(delay, f.delay);
      return delay;
    },

    toJSON() {
      tick();
      return {
        format: SIM_STATE_FORMAT,
        elapsedMs: elapsed(),
        savedAt: clock.now(),
        nodes: nodeCount,
        down: [...down].sort((a, b) => a - b).map((i) => i + 1),
        services: Object.fromEntries([...services].map(([name, svc]) => [name, { ...svc }])),
        database: { ...database },
        failures: counters.map((c) => ({ ...c })),
      };
    },
  };
  return world;
}

const STATUS_TEXT = { 429: 'rate limited', 500: 'internal server error', 503: 'service unavailable' } as const;

function atOf(f: { at?: number | undefined }): number {
  return f.at ?? 0;
}

/** 0-based index of `node-K` among `count` nodes, or undefined. */
export function nodeIndex(name: string, count: number): number | undefined {
  const m = /^node-(\d+)$/.exec(name);
  if (!m) return undefined;
  const k = Number(m[1]);
  return k >= 1 && k <= count ? k - 1 : undefined;
}

/** `0.25` → `25%`, `0.0612` → `6.1%`. */
export function percent(rate: number): string {
  return `${Number((rate * 100).toFixed(1))}%`;
}

/**
 * p99 of a mix of versions, each with exponentially distributed latency of the given p99: the
 * `x` where Σ share × (1 − e^(−x·ln100/p99)) = 0.99. A slow canary with a few percent of the traffic
 * lifts the p99 much more than a weighted mean would, as it does in production.
 */
export function mixtureP99(parts: { share: number; p99: number }[]): number {
  const live = parts.filter((p) => p.share > 0 && p.p99 > 0);
  if (live.length === 0) return 0;
  if (live.length === 1) return (live[0] as { p99: number }).p99;
  const total = live.reduce((s, p) => s + p.share, 0);
  const cdf = (x: number) => live.reduce((s, p) => s + (p.share / total) * (1 - Math.exp((-x * LN100) / p.p99)), 0);
  let lo = Math.min(...live.map((p) => p.p99));
  let hi = Math.max(...live.map((p) => p.p99));
  for (let k = 0; k < 40 && hi - lo > 1e-6; k++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < 0.99) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A reproducible value in [-0.5, 0.5) from the seed, a name, a metric number and a time bucket. */
export function noiseUnit(seed: number, name: string, metric: number, bucket: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ metric, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (bucket >>> 0), 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296 - 0.5;
}
