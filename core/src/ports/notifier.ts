import type { RunEvent } from '../model/events.js';
import type { RunMessage } from '../model/run-message.js';

/**
 * Tells people what happened. Which events reach `notify` is its config's `on` filter (by kind and
 * environment), applied by the engine for every notifier. The engine delivers through a queue per
 * notifier, so a notifier only sends: the rollout never waits on it, order is kept, and retries,
 * `Retry-After`, the drain at exit and the report of a destination that keeps failing are done
 * once, for all of them (notifiers/delivery-queue.ts).
 */
export interface Notifier {
  readonly type: string;
  /** Where it sends, safe to show in a warning or the audit trail: a channel, a host; never a token or a secret URL. */
  readonly destination: string;
  /**
   * Sends one event the notifier wants, with the run's message as it stands after that event
   * (what, where, who, progress, the measured values: see `RunMessage`). Throws `DeliveryError`
   * classified as retryable (429 with `retryAfterMs`, 5xx, timeouts), not retryable, or fatal (the
   * destination cannot work: a bad token, a channel that is gone); any other error counts as not
   * retryable. Called again with the same arguments on a retry, so it must not duplicate a message
   * it already delivered in full (keep what it posted in `deps.state`). `later` is true when more
   * messages for this notifier wait behind this one: an update in place may be left to the last
   * of them (a burst of events then costs one update, not one each).
   */
  notify(event: RunEvent, message: RunMessage, later?: boolean): Promise<void>;
  /**
   * Optional: follows the rollout between wanted events by updating a message in place (a Slack
   * message, a Teams card). Never posts a new message. The engine calls it with the newest message
   * only (older pending updates are dropped), and only while the destination works.
   */
  progress?(message: RunMessage): Promise<void>;
}
