import { fleetView } from './fleet.js';
import { readyOnUp } from './replicas.js';
import { mixtureP99, noiseUnit } from './traffic-math.js';
import type { LiveWorld } from './world-state.js';

/** Requests per second one ready replica serves. */
export const REQUESTS_PER_REPLICA = 10;
/** Relative amplitude of the measurement noise (±2.5 %). */
const NOISE = 0.05;

/** A version serving part of a service's requests, on the stable side or as the candidate. */
export interface Served {
  version: string;
  share: number;
  role: 'stable' | 'candidate';
}

/** Which requests a measurement looks at: all of them, or those served by one side. */
export type TrafficPart = 'all' | 'stable' | 'candidate';

// A different noise stream per measurement, so readings of one service are not correlated.
const NOISE_STREAM = { error: { all: 1, stable: 4, candidate: 5 }, latency: { all: 2, stable: 6, candidate: 7 }, requests: 3 } as const;

/** Ready replicas of the stable side per version: the stable replicas, or the nodes of a fleet mid-rollout. */
function stableSide(live: LiveWorld, name: string): { ready: number; versions: [string, number][] } {
  if (live.fleets.has(name)) {
    const view = fleetView(live, name);
    return { ready: view.ready, versions: [...view.byVersion] };
  }
  const svc = live.services.get(name);
  const ready = svc ? readyOnUp(live, svc) : 0;
  return { ready, versions: svc?.version && ready > 0 ? [[svc.version, ready]] : [] };
}

/**
 * Which versions serve a service's requests, with their share (0–1); empty when nothing is ready.
 * The candidate gets the router's weight while a split is open, its share of the ready replicas
 * once `scale` set the counts (no router), and otherwise nothing. Between two serving sides, one
 * with no ready replica gets nothing and the other takes its requests.
 */
export function traffic(live: LiveWorld, name: string): Served[] {
  const svc = live.services.get(name);
  const stable = stableSide(live, name);
  const candidate = svc?.candidate;
  const candidateReady = candidate ? readyOnUp(live, candidate) : 0;
  let share: number;
  if (!svc || !candidate || candidateReady === 0 || svc.route === 'none') share = 0;
  else if (stable.ready === 0) share = 1;
  else if (svc.route === 'split') share = svc.weight / 100;
  else share = candidateReady / (stable.ready + candidateReady);
  const served: Served[] = [];
  if (share < 1) for (const [version, k] of stable.versions) served.push({ version, share: ((1 - share) * k) / stable.ready, role: 'stable' });
  if (candidate && share > 0) served.push({ version: candidate.version, share, role: 'candidate' });
  return served;
}

/** The served versions of `part`, with the shares they have within it; empty when it gets no requests. */
function partOf(live: LiveWorld, name: string, part: TrafficPart): Served[] {
  const served = traffic(live, name).filter((s) => part === 'all' || s.role === part);
  if (part === 'candidate' && served.length === 0) {
    // A candidate that takes no user traffic yet still answers on its preview route (testers,
    // smoke checks, a blue-green pre-promotion analysis): its own metrics are measured alone.
    const candidate = live.services.get(name)?.candidate;
    if (candidate && readyOnUp(live, candidate) > 0) return [{ version: candidate.version, share: 1, role: 'candidate' }];
  }
  const total = served.reduce((sum, s) => sum + s.share, 0);
  return total > 0 ? served.map((s) => ({ ...s, share: s.share / total })) : [];
}

// Seeded per service, metric and second, so a run repeats exactly and a reading holds for a second.
function noise(live: LiveWorld, name: string, stream: number): number {
  return 1 + NOISE * noiseUnit(live.config.seed, name, stream, Math.floor(live.elapsed() / 1000));
}

/** Failing share of the requests of `part`, with noise; `undefined` when that part gets no requests. */
export function errorRate(live: LiveWorld, name: string, part: TrafficPart = 'all'): number | undefined {
  const served = partOf(live, name, part);
  if (served.length === 0) return undefined;
  let rate = 0;
  for (const s of served) rate += s.share * live.profile(s.version).errorRate;
  return Math.min(1, rate * noise(live, name, NOISE_STREAM.error[part]));
}

/** p99 latency in ms of the requests of `part`, with noise; `undefined` when that part gets no requests. */
export function latencyP99(live: LiveWorld, name: string, part: TrafficPart = 'all'): number | undefined {
  const served = partOf(live, name, part);
  if (served.length === 0) return undefined;
  return mixtureP99(served.map((s) => ({ share: s.share, p99: live.profile(s.version).latencyMs }))) * noise(live, name, NOISE_STREAM.latency[part]);
}

/** Requests per second the ready replicas serve, with noise; `undefined` when the service serves no traffic. */
export function requestRate(live: LiveWorld, name: string): number | undefined {
  const candidate = live.services.get(name)?.candidate;
  const ready = stableSide(live, name).ready + (candidate ? readyOnUp(live, candidate) : 0);
  return ready > 0 ? REQUESTS_PER_REPLICA * ready * noise(live, name, NOISE_STREAM.requests) : undefined;
}

/** Ready replicas of the stable side (nodes, for a fleet mid-rollout); `undefined` when nothing is deployed. */
export function readyReplicas(live: LiveWorld, name: string): number | undefined {
  return live.services.has(name) || live.fleets.has(name) ? stableSide(live, name).ready : undefined;
}

/** Ready replicas of the candidate; `undefined` when no candidate runs. */
export function candidateReadyReplicas(live: LiveWorld, name: string): number | undefined {
  const candidate = live.services.get(name)?.candidate;
  return candidate && readyOnUp(live, candidate);
}
