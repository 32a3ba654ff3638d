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

const serviceStateSchema = z.object({
  version: z.string(),
  replicas: z.number().int().nonnegative(),
  readyAt: z.number(),
  stable: z.string().optional(),
  route: z.enum(['none', 'split', 'stable']),
  weight: z.number().min(0).max(100),
});
export type ServiceState = z.infer<typeof serviceStateSchema>;

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
  readonly database: { up: boolean; schemaVersion: number };
  elapsed(): number;
  profile(version: string): VersionProfile;
  /** Capacity units: ready nodes × capacity, used by replicas on them, and free (negative when overcommitted). */
  capacity(): { total: number; used: number; free: number };
}

/** The state saved by `saveState`, validated against the config it is restored into. Throws `JournalError`. */
export function readSavedState(saved: unknown, nodeCount: number): SimWorldState {
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

/** The world as `config` declares it, or as `state` left it when one is given. */
export function createLiveWorld(config: SimConfig, clock: Clock, state?: SimWorldState): LiveWorld {
  const nodeCount = config.nodes;
  const nodes = createNodeSet(nodeCount, state ? state.down.filter((k) => k <= nodeCount).map((n) => n - 1) : []);
  const services = new Map<string, ServiceState>();
  if (state) {
    for (const [name, svc] of Object.entries(state.services)) services.set(name, { ...svc });
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
    database,
    elapsed: () => clock.now() - origin,
    profile,
    capacity() {
      const total = (nodeCount - nodes.down.size) * config.capacityPerNode;
      let used = 0;
      for (const svc of services.values()) used += profile(svc.version).cpu * nodes.onUp(svc.replicas);
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
    services: Object.fromEntries([...live.services].map(([name, svc]) => [name, { ...svc }])),
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
