import type { Clock } from '../ports/clock.js';
import type { SimConfig } from './config.js';

/**
 * The simulated infrastructure of one environment. Providers of type `sim` read and change it;
 * the engine saves `toJSON()` in the run journal so a resumed run sees the same world.
 */
export interface SimWorld {
  /** Serialisable state (nodes, services, weights, failure counters, elapsed time). */
  toJSON(): unknown;
}

/** Builds a world from its config, or restores it from a journal's saved state. */
export function createSimWorld(config: SimConfig, clock: Clock, saved?: unknown): SimWorld {
  throw new Error('not implemented yet');
}
