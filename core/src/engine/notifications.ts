import type { RunEvent, RunEventBody } from '../model/events.js';
import type { Notifier } from '../ports/notifier.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { ProviderState } from '../ports/provider-state.js';
import { DeliveryQueue, type DeliveryTimer } from '../notifiers/delivery-queue.js';
import { MessageDigest } from '../notifiers/digest.js';
import { eventFilter } from '../notifiers/filter.js';
import { applyTemplates, type Templates } from '../notifiers/templates.js';
import type { NotifierConfig } from '../definition/schema.js';
import { errorMessage } from '../errors.js';
import { plural } from '../util/format-number.js';
import { createNotifier } from './wiring.js';

/** Longest the end of a run waits for notifications still queued (a final message behind a 429). */
export const NOTIFY_DRAIN_MS = 5000;
/**
 * Progress updates of a message in place, at most one per this interval per destination: enough
 * to follow a rollout, within Slack's chat.update tier (about 50 a minute), and no CPU or sockets
 * spent beside a fast rollout. Wanted events are never held back by it.
 */
export const PROGRESS_EVERY_MS = 1000;

interface Destination {
  notifier: Notifier;
  wants: (event: RunEvent, environment: string | undefined) => boolean;
  templates: Templates;
  queue: DeliveryQueue;
  label: string;
  /** The sentence of the last event it wanted: progress updates keep it as the message's text. */
  text?: string;
  /** When its last progress update was queued, and the one scheduled for later. */
  progressAt?: number;
  progressTimer?: NodeJS.Timeout;
}

export interface NotificationOptions {
  configs: readonly NotifierConfig[];
  deps: (key: string) => ProviderDeps;
  /** Where the run's message model is kept in the journal. */
  state: ProviderState;
  emit: (body: RunEventBody) => void;
  onWarning: (message: string) => void;
  /** Test seam: the retries' and the drain's timer (real timers otherwise). */
  timer?: DeliveryTimer;
  drainMs?: number;
}

/**
 * The run's notifications: one message model built from every event (kept in the journal, so a
 * resumed job continues it), and one delivery queue per notifier, so the rollout never waits on
 * Slack or Teams. A destination that keeps failing is said once, as a `notifier.failed` event in
 * the audit trail, and once more at the end with what it missed; the run's result does not change.
 */
export class Notifications {
  private readonly destinations: Destination[] = [];
  private readonly digest: MessageDigest | undefined;
  private last: RunEvent | undefined;

  constructor(private readonly o: NotificationOptions) {
    o.configs.forEach((config, i) => {
      let notifier: Notifier;
      try {
        notifier = createNotifier(config, o.deps(`notifier/${i}`));
      } catch (err) {
        o.onWarning(`notifications[${i}] (${config.type}) cannot start, so it sends nothing: ${errorMessage(err)}`);
        return;
      }
      const label = `${notifier.type} (${notifier.destination})`;
      const queue = new DeliveryQueue({
        name: label,
        ...(o.timer ? { timer: o.timer } : {}),
        onFailing: (r) => o.emit({ kind: 'notifier.failed', notifier: notifier.type, destination: notifier.destination, error: r.error, undelivered: r.undelivered }),
      });
      this.destinations.push({ notifier, wants: eventFilter(config.on), templates: (config as { templates?: Templates }).templates ?? {}, queue, label });
    });
    this.digest = this.destinations.length > 0 ? o.state.live((kept) => new MessageDigest(kept)) : undefined;
  }

  /** Every event of the run, with the environment of its stage (none for run-wide events). */
  onEvent(event: RunEvent, environment: string | undefined): void {
    const digest = this.digest;
    if (!digest) return;
    digest.apply(event);
    this.last = event;
    for (const d of this.destinations) {
      // A pause is announced by `run.paused`; the `run.finished` of the paused process says it again.
      const repeatsPause = event.kind === 'run.finished' && event.status === 'paused' && d.wants({ ...event, kind: 'run.paused' } as unknown as RunEvent, environment);
      if (d.wants(event, environment) && !repeatsPause) {
        // A wanted event carries the message as it stood right after it.
        const message = applyTemplates(digest.message(event), event, d.templates);
        d.text = message.text;
        // The message updates in place too: the next progress update can wait its interval.
        d.progressAt = Date.now();
        void d.queue.send((later) => d.notifier.notify(event, message, later));
      } else if (d.notifier.progress && !d.queue.isDown && event.kind !== 'notifier.failed') {
        this.scheduleProgress(d);
      }
    }
  }

  /** Queues a progress update now, or once the interval since the last one has passed (one scheduled at a time). */
  private scheduleProgress(d: Destination): void {
    if (d.progressTimer) return;
    const wait = (d.progressAt ?? -Infinity) + PROGRESS_EVERY_MS - Date.now();
    if (wait <= 0) return this.queueProgress(d);
    d.progressTimer = setTimeout(() => {
      d.progressTimer = undefined;
      this.queueProgress(d);
    }, wait);
    d.progressTimer.unref();
  }

  private queueProgress(d: Destination): void {
    const progress = d.notifier.progress?.bind(d.notifier);
    if (!progress || d.queue.isDown || !this.digest) return;
    const digest = this.digest;
    d.progressAt = Date.now();
    // Progress shows the newest state when its turn comes; older pending updates are dropped.
    void d.queue.update(() => {
      const last = this.last as RunEvent;
      const message = applyTemplates(digest.message(last), last, d.templates);
      return progress(d.text !== undefined ? { ...message, text: d.text } : message);
    });
  }

  /** Waits for the queues, at most the drain bound; warns once per destination that missed messages. */
  async close(): Promise<void> {
    // The last wanted event (run.finished) updates every message in place: no progress after it.
    for (const d of this.destinations) clearTimeout(d.progressTimer);
    const reports = await Promise.all(this.destinations.map(async (d) => ({ d, r: await d.queue.drain(this.o.drainMs ?? NOTIFY_DRAIN_MS) })));
    for (const { d, r } of reports) {
      if (r.undelivered === 0) continue;
      this.o.onWarning(`notifier ${d.label}: ${plural(r.undelivered, 'message')} not delivered${r.error ? `: ${r.error}` : ''}; the deployment's result is not affected`);
    }
  }
}
