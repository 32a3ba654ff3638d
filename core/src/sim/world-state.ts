import { z } from 'zod';
import { JournalError } from '../errors.js';
import type { Change } from '../model/events.js';
import type { Clock } from '../ports/clock.js';
import type { FailureSpec, SimConfig } from './config.js';
import type { FailureState } from './failures.js';
import { createNodeSet, type NodeSet } from './nodes.js';

export interface VersionProfile {
  errorRate: number;
  latencyMs: number;
  cpu: number;
  startupMs: number;
}

/**
 * Where a service's requests go while a candidate runs: `none` (everything to the stable version:
 * a new candidate is dark, and a finalised split goes back to this), `split` (the router sends
 * `weight` % to the candidate), `replicas` (no router: `scale` set the replica counts, and requests
 * spread over the ready replicas of both).
 */
export type RouteMode = 'none' | 'split' | 'replicas';

/** Replicas placed round-robin from node-1, and when they are ready. */
export interface Replicas {
  replicas: number;
  /** Elapsed time at which all of them are ready. */
  readyAt: number;
  /** Replicas that keep serving until `readyAt` (a scale-up leaves the running ones ready); 0 when absent. */
  warm?: number | undefined;
  /** Nodes (0-based, ascending) that were down when these replicas were placed: none runs there. */
  avoid?: number[] | undefined;
}

/** Replicas of one version. */
export interface ReplicaSet extends Replicas {
  version: string;
}

/** A version running beside the stable one (canary, blue-green's green). */
export interface CandidateState extends ReplicaSet {
  /** The stable replica count when the candidate started: what promote and removeCandidate restore. */
  fullScale: number;
}

/** A service: its stable version and replicas, an optional candidate, and its route. */
export interface ServiceState extends Replicas {
  /** The stable version; `null` while the candidate of a first deploy runs alone (with no stable replicas). */
  version: string | null;
  candidate?: CandidateState | undefined;
  route: RouteMode;
  weight: number;
}

export interface ServiceInfo extends ServiceState {
  name: string;
}

/** One node of a fleet running something other than the service's version; `null`: nothing runs there. */
export interface UnitState {
  version: string | null;
  readyAt: number;
}

/** The units of a service that differ from its version, kept sparse so a 10,000-node fleet stays cheap. */
export interface FleetState {
  /** By 0-based node index. */
  readonly units: Map<number, UnitState>;
  /** How many units run each version, so a finished rollout is noticed without scanning. */
  readonly counts: Map<string | null, number>;
  /** The latest time any unit became or becomes ready: a finished rollout folds back only once it has passed. */
  maxReadyAt: number;
}

/** What a state change did, and how long its replicas take to start. */
export interface Transition {
  changes: Change[];
  waitMs: number;
}

export const SIM_STATE_FORMAT = 'rollgate/sim-world@2';

/** Defaults of a version absent from `config.versions` (the schema's defaults). */
export const DEFAULT_PROFILE: Readonly<VersionProfile> = Object.freeze({ errorRate: 0.001, latencyMs: 80, cpu: 1, startupMs: 10_000 });

const replicas = {
  replicas: z.number().int().nonnegative(),
  readyAt: z.number(),
  warm: z.number().int().nonnegative().optional(),
  avoid: z.array(z.number().int().nonnegative()).optional(),
};
const serviceStateSchema = z.object({
  version: z.string().nullable(),
  ...replicas,
  candidate: z.object({ version: z.string(), ...replicas, fullScale: z.number().int().nonnegative() }).optional(),
  route: z.enum(['none', 'split', 'replicas']),
  weight: z.number().min(0).max(100),
});

const stateSchema = z.object({
  format: z.literal(SIM_STATE_FORMAT),
  elapsedMs: z.number().nonnegative(),
  savedAt: z.number(),
  nodes: z.number().int().positive(),
  down: z.array(z.number().int().positive()),
  services: z.record(z.string(), serviceStateSchema),
  /** Per service, the units that differ from it: [node number, version or null, readyAt]. */
  fleets: z.record(z.string(), z.array(z.tuple([z.number().int().positive(), z.string().nullable(), z.number()]))).default({}),
  database: z.object({ up: z.boolean(), schemaVersion: z.number().int() }),
  failures: z.array(z.object({ left: z.number().int().nonnegative().nullable().optional(), fired: z.boolean().optional() })),
});
export type SimWorldState = z.infer<typeof stateSchema>;

/**
 * The mutable state behind a `SimWorld`, shared by the modules that implement its operations.
 * None of its methods applies due failures: callers do that first, so each public call applies
 * them exactly once.
 */
export interface LiveWorld {
  readonly config: SimConfig;
  readonly clock: Clock;
  readonly nodes: NodeSet;
  readonly services: Map<string, ServiceState>;
  readonly fleets: Map<string, FleetState>;
  readonly database: { up: boolean; schemaVersion: number };
  elapsed(): number;
  profile(version: string): VersionProfile;
  /** Capacity units: ready nodes × capacity, used by replicas on them, and free (negative when overcommitted). */
  capacity(): { total: number; used: number; free: number };
}

/** The state saved by `saveState`, validated against the config it is restored into. Throws `JournalError`. */
export function readSavedState(saved: unknown, nodeCount: number): SimWorldState {
  const format = (saved as { format?: unknown } | null)?.format;
  if (typeof format === 'string' && format.startsWith('rollgate/sim-world@') && format !== SIM_STATE_FORMAT) {
    throw new JournalError(`the saved simulation state has format ${format}, this rollgate reads ${SIM_STATE_FORMAT}; start a new run`);
  }
  const parsed = stateSchema.safeParse(saved);
  if (!parsed.success) {
    throw new JournalError(`the saved simulation state is unreadable (${parsed.error.issues[0]?.message ?? 'invalid'}); start a new run`);
  }
  const s = parsed.data;
  if (s.nodes !== nodeCount) {
    throw new JournalError(`the saved simulation has ${s.nodes} nodes but the workflow now declares ${nodeCount}; start a new run`);
  }
  return s;
}

/** An empty fleet table, or one holding `units`. */
export function createFleet(units: Iterable<[number, UnitState]> = []): FleetState {
  const fleet: FleetState = { units: new Map(), counts: new Map(), maxReadyAt: 0 };
  for (const [i, u] of units) {
    fleet.units.set(i, u);
    fleet.maxReadyAt = Math.max(fleet.maxReadyAt, u.readyAt);
    fleet.counts.set(u.version, (fleet.counts.get(u.version) ?? 0) + 1);
  }
  return fleet;
}

/** The world as `config` declares it, or as `state` left it when one is given. */
export function createLiveWorld(config: SimConfig, clock: Clock, state?: SimWorldState): LiveWorld {
  const nodeCount = config.nodes;
  const nodes = createNodeSet(nodeCount, state ? state.down.filter((k) => k <= nodeCount).map((n) => n - 1) : []);
  const services = new Map<string, ServiceState>();
  const fleets = new Map<string, FleetState>();
  if (state) {
    for (const [name, svc] of Object.entries(state.services)) services.set(name, structuredClone(svc));
    for (const [name, units] of Object.entries(state.fleets)) {
      const kept = units.filter(([k]) => k <= nodeCount).map(([k, version, readyAt]): [number, UnitState] => [k - 1, { version, readyAt }]);
      if (kept.length > 0) fleets.set(name, createFleet(kept));
    }
  } else {
    for (const [name, svc] of Object.entries(config.services)) {
      services.set(name, { version: svc.version, replicas: svc.replicas ?? nodeCount, readyAt: 0, route: 'none', weight: 0 });
    }
  }
  const database = state ? { ...state.database } : { up: config.database.up, schemaVersion: config.database.schemaVersion };
  const now = clock.now();
  // A restored world resumes at its saved time plus whatever the clock moved since (a real clock between CI jobs).
  const origin = state ? now - (state.elapsedMs + Math.max(0, now - state.savedAt)) : now;
  const profile = createProfiles(config);

  return {
    config,
    clock,
    nodes,
    services,
    fleets,
    database,
    elapsed: () => clock.now() - origin,
    profile,
    capacity() {
      const total = (nodeCount - nodes.down.size) * config.capacityPerNode;
      let used = 0;
      // Fleet units swap the version on their own node in place, so capacity counts the service's version there.
      for (const svc of services.values()) {
        if (svc.version !== null) used += profile(svc.version).cpu * nodes.onUp(svc.replicas, svc.avoid);
        if (svc.candidate) used += profile(svc.candidate.version).cpu * nodes.onUp(svc.candidate.replicas, svc.candidate.avoid);
      }
      return { total, used, free: total - used };
    },
  };
}

/** The serialisable state of `live`, with the failure counters of `failures`. */
export function saveState(live: LiveWorld, failures: FailureState[]): SimWorldState {
  return {
    format: SIM_STATE_FORMAT,
    elapsedMs: live.elapsed(),
    savedAt: live.clock.now(),
    nodes: live.nodes.count,
    down: [...live.nodes.down].sort((a, b) => a - b).map((i) => i + 1),
    services: Object.fromEntries([...live.services].map(([name, svc]) => [name, structuredClone(svc)])),
    fleets: Object.fromEntries(
      [...live.fleets].map(([name, fleet]) => [
        name,
        [...fleet.units].sort(([a], [b]) => a - b).map(([i, u]): [number, string | null, number] => [i + 1, u.version, u.readyAt]),
      ]),
    ),
    database: { ...live.database },
    failures,
  };
}

/** Version profiles with defaults, overridden by `bad-version` failures; cached, since metrics ask on every call. */
function createProfiles(config: SimConfig): (version: string) => VersionProfile {
  const badVersions = new Map<string, Extract<FailureSpec, { kind: 'bad-version' }>>();
  for (const f of config.failures) if (f.kind === 'bad-version') badVersions.set(f.version, f);
  const profiles = new Map<string, VersionProfile>();
  return (version) => {
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
}
