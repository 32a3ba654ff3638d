import type { RunEvent } from '../model/events.js';

/**
 * Tells people what happened. Must never block or fail a rollout. Which events reach it is its
 * config's `on` filter (by kind and environment), which the engine applies for every notifier.
 */
export interface Notifier {
  readonly type: string;
  /** Delivers one event. May throw; the caller logs the failure and carries on. */
  notify(event: RunEvent): Promise<void>;
  /** Waits for deliveries in flight, up to the notifier's own deadline. Never throws. */
  flush(): Promise<void>;
}
