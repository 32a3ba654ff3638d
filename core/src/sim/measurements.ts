import type { HealthReport } from '../model/results.js';
import { mixtureP99, noiseUnit, percent } from './traffic-math.js';
import type { LiveWorld, ServiceState } from './world-state.js';

/** Above this failing share, a version's readiness fails. */
export const UNHEALTHY_ERROR_RATE = 0.05;
/** Requests per second one ready replica serves. */
export const REQUESTS_PER_REPLICA = 10;
/** Relative amplitude of the measurement noise (±2.5 %). */
const NOISE = 0.05;

type Share = { version: string; share: number };

/** Which versions serve a service's requests, following its route. */
function shares(svc: ServiceState): Share[] {
  if (svc.stable === undefined || svc.stable === svc.version || svc.route === 'none') return [{ version: svc.version, share: 1 }];
  if (svc.route === 'stable') return [{ version: svc.stable, share: 1 }];
  const canary = svc.weight / 100;
  if (canary >= 1) return [{ version: svc.version, share: 1 }];
  if (canary <= 0) return [{ version: svc.stable, share: 1 }];
  return [
    { version: svc.stable, share: 1 - canary },
    { version: svc.version, share: canary },
  ];
}

/** The service when it serves requests (deployed, with a replica on a ready node). */
function serving(live: LiveWorld, name: string): ServiceState | undefined {
  const svc = live.services.get(name);
  return svc && live.nodes.onUp(svc.replicas) > 0 ? svc : undefined;
}

// Seeded per service, metric and second, so a run repeats exactly and a reading holds for a second.
function noise(live: LiveWorld, name: string, metric: number): number {
  return 1 + NOISE * noiseUnit(live.config.seed, name, metric, Math.floor(live.elapsed() / 1000));
}

/** Readiness of the last deployed version. */
export function health(live: LiveWorld, name: string): HealthReport {
  const svc = live.services.get(name);
  if (!svc) return { healthy: false, ready: 0, total: 0, message: `nothing is deployed for ${name}` };
  const { nodes } = live;
  const t = live.elapsed();
  const total = svc.replicas;
  const starting = t < svc.readyAt;
  const ready = starting ? 0 : nodes.onUp(total);
  const problems: string[] = [];
  if (starting) problems.push(`starting: ${svc.version} is ready in ${Math.ceil((svc.readyAt - t) / 1000)}s`);
  else if (ready < total) {
    const names = nodes.downNames(3, total >= nodes.count ? nodes.count : total);
    problems.push(`${total - ready} of ${total} replicas are on crashed nodes (${names.join(', ')}${nodes.down.size > names.length ? ', …' : ''})`);
  }
  const rate = live.profile(svc.version).errorRate;
  if (rate > UNHEALTHY_ERROR_RATE) problems.push(`readiness failing: ${percent(rate)} of requests fail`);
  return problems.length === 0
    ? { healthy: true, ready, total, message: total === 0 ? `${svc.version} is scaled to zero` : `${svc.version} is ready` }
    : { healthy: false, ready, total, message: problems.join('; ') };
}

/** The versions serving the service's requests with their share; empty when it serves none. */
export function traffic(live: LiveWorld, name: string): Share[] {
  const svc = serving(live, name);
  return svc ? shares(svc) : [];
}

/** Failing share of the traffic mix, with noise; `undefined` when the service serves no traffic. */
export function errorRate(live: LiveWorld, name: string): number | undefined {
  const svc = serving(live, name);
  if (!svc) return undefined;
  let rate = 0;
  for (const s of shares(svc)) rate += s.share * live.profile(s.version).errorRate;
  return Math.min(1, rate * noise(live, name, 1));
}

/** p99 latency in ms of the traffic mix, with noise; `undefined` when the service serves no traffic. */
export function latencyP99(live: LiveWorld, name: string): number | undefined {
  const svc = serving(live, name);
  if (!svc) return undefined;
  return mixtureP99(shares(svc).map((s) => ({ share: s.share, p99: live.profile(s.version).latencyMs }))) * noise(live, name, 2);
}

/** Requests per second the ready replicas serve, with noise; `undefined` when the service serves no traffic. */
export function requestRate(live: LiveWorld, name: string): number | undefined {
  const svc = serving(live, name);
  if (!svc) return undefined;
  return REQUESTS_PER_REPLICA * live.nodes.onUp(svc.replicas) * noise(live, name, 3);
}

/** Ready replicas of the last deployed version (0 while starting); `undefined` when nothing is deployed. */
export function readyReplicas(live: LiveWorld, name: string): number | undefined {
  const svc = live.services.get(name);
  if (!svc) return undefined;
  return live.elapsed() < svc.readyAt ? 0 : live.nodes.onUp(svc.replicas);
}
