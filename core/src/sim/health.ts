import type { HealthReport } from '../model/results.js';
import { fleetView, unitAt, unitIndex } from './fleet.js';
import { readyOnUp } from './replicas.js';
import { percent } from './traffic-math.js';
import type { LiveWorld, ReplicaSet } from './world-state.js';

/** Above this failing share, a version's readiness fails. */
export const UNHEALTHY_ERROR_RATE = 0.05;

/** Readiness of the stable version (or, with per-unit versions, of every node running the service). */
export function health(live: LiveWorld, name: string): HealthReport {
  if (live.fleets.has(name)) return fleetHealth(live, name);
  const svc = live.services.get(name);
  if (!svc) return { healthy: false, ready: 0, total: 0, message: `nothing is deployed for ${name}` };
  if (svc.version === null) return { healthy: false, ready: 0, total: 0, message: `${name} has no stable version yet: only a candidate runs` };
  return replicaHealth(live, { ...svc, version: svc.version });
}

/** Readiness of the candidate's replicas only. */
export function candidateHealth(live: LiveWorld, name: string): HealthReport {
  const candidate = live.services.get(name)?.candidate;
  if (!candidate) return { healthy: false, ready: 0, total: 0, message: `no candidate of ${name} is running` };
  return replicaHealth(live, candidate);
}

/** Health of one unit: nothing there, down, starting, failing readiness, or ready. */
export function unitHealth(live: LiveWorld, name: string, unit: string): HealthReport {
  const i = unitIndex(live, name, unit);
  const { version, readyAt } = unitAt(live, name, i);
  if (version === null) return { healthy: false, ready: 0, total: 0, message: `nothing of ${name} runs on ${unit}` };
  if (live.nodes.down.has(i)) return { healthy: false, ready: 0, total: 1, message: `${unit} is down` };
  const t = live.elapsed();
  if (t < readyAt) return { healthy: false, ready: 0, total: 1, message: `starting: ${version} on ${unit} is ready in ${seconds(readyAt - t)}s` };
  const rate = live.profile(version).errorRate;
  if (rate > UNHEALTHY_ERROR_RATE) return { healthy: false, ready: 1, total: 1, message: `readiness failing: ${percent(rate)} of requests fail` };
  return { healthy: true, ready: 1, total: 1, message: `${version} is ready on ${unit}` };
}

function replicaHealth(live: LiveWorld, set: ReplicaSet): HealthReport {
  const { nodes } = live;
  const t = live.elapsed();
  const total = set.replicas;
  const ready = readyOnUp(live, set);
  const problems: string[] = [];
  if (t < set.readyAt) {
    const wait = seconds(set.readyAt - t);
    problems.push(ready > 0 ? `scaling up: ${ready} of ${total} replicas of ${set.version} ready, the rest in ${wait}s` : `starting: ${set.version} is ready in ${wait}s`);
  } else if (ready < total) {
    const names = nodes.downNames(3, Math.min(total, nodes.count));
    problems.push(`${total - ready} of ${total} replicas are on crashed nodes (${names.join(', ')}${nodes.down.size > names.length ? ', …' : ''})`);
  }
  const rate = live.profile(set.version).errorRate;
  if (rate > UNHEALTHY_ERROR_RATE) problems.push(`readiness failing: ${percent(rate)} of requests fail`);
  return problems.length === 0
    ? { healthy: true, ready, total, message: total === 0 ? `${set.version} is scaled to zero` : `${set.version} is ready` }
    : { healthy: false, ready, total, message: problems.join('; ') };
}

/** A fleet mid-rollout: every node running the service counts, and the error rate is the mean over the ready ones. */
function fleetHealth(live: LiveWorld, name: string): HealthReport {
  const view = fleetView(live, name);
  const { running: total, ready } = view;
  if (total === 0) return { healthy: false, ready: 0, total: 0, message: `nothing of ${name} runs on any node` };
  const problems: string[] = [];
  const starting = total - ready - view.down;
  if (starting > 0) problems.push(`starting on ${starting} of ${total} nodes`);
  if (view.down > 0) {
    const names = live.nodes.downNames(3);
    problems.push(`${view.down} of ${total} nodes are down (${names.join(', ')}${live.nodes.down.size > names.length ? ', …' : ''})`);
  }
  let failing = 0;
  for (const [version, k] of view.byVersion) failing += k * live.profile(version).errorRate;
  const rate = ready > 0 ? failing / ready : 0;
  if (rate > UNHEALTHY_ERROR_RATE) problems.push(`readiness failing: ${percent(rate)} of requests fail (mean over nodes)`);
  if (problems.length > 0) return { healthy: false, ready, total, message: problems.join('; ') };
  const versions = [...view.byVersion].map(([version, k]) => `${version} on ${k} node${k === 1 ? '' : 's'}`);
  return { healthy: true, ready, total, message: `ready: ${versions.join(', ')}` };
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
