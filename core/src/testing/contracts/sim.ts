import type { z } from 'zod';
import { createVirtualClock, type VirtualClock } from '../../clocks/virtual.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import { worldOf } from '../../sim/access.js';
import { failureSchema, type SimConfig, simConfigSchema } from '../../sim/config.js';
import type { SimOperation, SimWorld } from '../../sim/world.js';
import { fakeDeps } from '../fakes.js';
import type { MemoryProviderStates } from '../state.js';
import { CONTRACT_STAGE } from './kit.js';

/**
 * The simulated world behind the contract fixtures of the `sim` providers: one virtual clock for
 * every process of the run (wall time goes on between CI jobs), deps whose `sim` settings are
 * `settings`, and a fresh reading of the world a later process would restore.
 */
export interface SimFamilyFixture {
  clock: VirtualClock;
  /** The environment's `sim` settings; `injectFault` adds to their failures. */
  settings: SimConfig;
  deps(states: MemoryProviderStates): ProviderDeps;
  /** The world as a new process restores it from what `states` kept: a reading that changes nothing there. */
  world(states: MemoryProviderStates): SimWorld;
  /**
   * Makes the next call of `operation` fail with an injected 503 (a retryable `ProviderError`).
   * The world reads its failures when a process first touches it: call this before any deps are made.
   */
  injectFault(operation: SimOperation): void;
}

export function simFamily(input: z.input<typeof simConfigSchema> = {}): SimFamilyFixture {
  const clock = createVirtualClock();
  const settings = simConfigSchema.parse(input);
  const deps = (states: MemoryProviderStates) => fakeDeps({ clock, environment: 'staging' }, { states, settings: { sim: settings } });
  return {
    clock,
    settings,
    deps,
    world: (states) => worldOf(deps(states.reopen())),
    injectFault(operation) {
      settings.failures.push(failureSchema.parse({ kind: 'api-errors', operation, count: 1, status: 503 }));
    },
  };
}

/**
 * What an undo must put back in the simulated world: the service's versions, replica counts, route
 * and per-unit versions, without the timings (replicas started again are ready later).
 */
export function serviceView(world: SimWorld, name = CONTRACT_STAGE): unknown {
  const saved = world.toJSON();
  const svc = saved.services[name];
  const units = (saved.fleets[name] ?? []).map(([node, version]) => [node, version]);
  if (!svc) return units.length > 0 ? { units } : null;
  return {
    version: svc.version,
    replicas: svc.replicas,
    candidate: svc.candidate ? { version: svc.candidate.version, replicas: svc.candidate.replicas } : null,
    route: svc.route,
    weight: svc.weight,
    units,
  };
}
