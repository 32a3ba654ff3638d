import { ProviderError } from '../errors.js';
import { simConfig } from '../testing/sim-harness.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { createSimWorld } from '../sim/world.js';

/** A simulated world on its own virtual clock, for tests. */
export function testWorld(input: Parameters<typeof simConfig>[0] = {}, start = 0) {
  const clock = createVirtualClock(start);
  return { clock, world: createSimWorld(simConfig(input), clock) };
}

/** The ProviderError `fn` throws; fails when it throws nothing or something else. */
export function thrownProviderError(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}
