import type { Weights } from '../model/results.js';
import type { StepContext } from './step-context.js';

/** How traffic is split between the stable and the new version. */
export interface TrafficRouter {
  readonly type: string;
  /** Sends `weights.canary` percent (0–100) to the new version. Idempotent. Throws `ProviderError`. */
  setWeights(weights: Weights, ctx: StepContext): Promise<void>;
  /** The split in force now. Read-only. */
  getWeights(ctx: StepContext): Promise<Weights>;
  /**
   * Restores routing to send everything to the stable version and drops rollgate's routing
   * objects. Idempotent; always called on rollback.
   */
  finalize(ctx: StepContext): Promise<void>;
}
