import type { RunEvent } from '../model/events.js';

/** Tells people what happened. Must never block or fail a rollout. */
export interface Notifier {
  readonly type: string;
  /** Whether this notifier wants the event (its `on:` filter). Pure. */
  wants(event: RunEvent): boolean;
  /** Delivers one event. May throw; the caller logs the failure and carries on. */
  notify(event: RunEvent): Promise<void>;
  /** Waits for deliveries in flight, up to the notifier's own deadline. Never throws. */
  flush(): Promise<void>;
}
