import type { z } from 'zod';
import type { Change } from '../model/events.js';
import type { Logger } from '../ports/logger.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { simConfigSchema } from '../sim/config.js';
import { createVirtualClock, type VirtualClock } from '../clocks/virtual.js';
import { MemoryProviderStates } from './state.js';
import { createSimWorld, type SimWorld } from '../sim/world.js';

/** A sim config from its input form (durations as text, defaults filled in). */
export const simConfig = (input: z.input<typeof simConfigSchema> = {}) => simConfigSchema.parse(input);

export interface SimHarness {
  clock: VirtualClock;
  world: SimWorld;
  deps: ProviderDeps;
  /** Every change reported through contexts made by `ctx`. */
  changes: Change[];
  /** Every log line written through `deps.log` or a context. */
  logs: string[];
  /** A step context for `stage` (default `web`) whose changes and logs land above. */
  ctx(stage?: string, opts?: { step?: string; signal?: AbortSignal }): StepContext;
}

/**
 * Drives `sim` providers outside the engine, on a virtual clock: for tests, benchmarks and
 * examples. The providers made with `deps` all act on `world` (their family's shared state).
 */
export function createSimHarness(input: z.input<typeof simConfigSchema> = {}, saved?: unknown): SimHarness {
  const clock = createVirtualClock();
  const world = createSimWorld(simConfig(input), clock, saved);
  const changes: Change[] = [];
  const logs: string[] = [];
  const log: Logger = {
    info: (m) => logs.push(m),
    warn: (m) => logs.push(m),
    output: (_s, line) => logs.push(line),
  };
  const states = new MemoryProviderStates();
  // The world is the live shared state of the sim family: every provider made with `deps` finds it.
  states.handle('sim@sim').live(() => world);
  const deps: ProviderDeps = {
    runId: 'run-1',
    clock,
    log,
    environment: 'sim',
    workDir: '.',
    secret: () => undefined,
    state: states.handle('provider'),
    shared: (family) => states.handle(`${family}@sim`),
    settings: () => world.config,
    probe: (name) => Promise.reject(new Error(`sim harness: no probe '${name}'`)),
  };
  return {
    clock,
    world,
    deps,
    changes,
    logs,
    ctx: (stage = 'web', opts = {}) => ({
      runId: 'run-1',
      stage,
      step: opts.step ?? 'step',
      signal: opts.signal ?? new AbortController().signal,
      clock,
      log,
      env: {},
      recordChange: (c) => changes.push(c),
      mask: (text) => text,
      trackProcess: () => () => {},
    }),
  };
}
