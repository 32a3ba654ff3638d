import type { Weights } from '../model/results.js';
import type { StepContext } from './step-context.js';

/** How traffic is split between the stable and the new version. */
export interface TrafficRouter {
  readonly type: string;
  /**
   * Sends `weights.canary` percent (0–100) to the new version. Idempotent. Before its first change
   * it keeps the routing as it found it in its state (`deps.state`), so `finalize` can restore it
   * from any later process. Throws `ProviderError`.
   */
  setWeights(weights: Weights, ctx: StepContext): Promise<void>;
  /**
   * The split the router observes live now, which may lag a change (a proxy reloads in the
   * background): after `setWeights` the caller polls this until the two agree, as Argo Rollouts'
   * weight verification does. Read-only. Throws `ProviderError` when it cannot tell.
   */
  getWeights(ctx: StepContext): Promise<Weights>;
  /**
   * Restores the routing it found on first touch (all traffic to the stable version when it found
   * none of its own) and drops rollgate's routing objects. Idempotent; always called on rollback,
   * and after a promotion.
   */
  finalize(ctx: StepContext): Promise<void>;
}
