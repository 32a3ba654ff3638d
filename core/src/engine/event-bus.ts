import type { RunEvent, RunEventBody } from '../model/events.js';
import type { Clock } from '../ports/clock.js';
import { maskDeep } from '../util/mask-deep.js';

export type Subscriber = (event: RunEvent) => void;

/**
 * Stamps each event (sequence, time, run id), masks secrets in every string it carries, and
 * hands it to subscribers in order. A subscriber that throws is reported once and never stops
 * the run: reporting must not change what the rollout does.
 */
export class EventBus {
  private readonly subscribers: Subscriber[] = [];
  private failed = new Set<Subscriber>();

  constructor(
    private readonly runId: string,
    private readonly clock: Clock,
    readonly mask: (text: string) => string,
    private seq = 0,
    private readonly onSubscriberError: (err: unknown) => void = () => {},
  ) {}

  get lastSeq(): number {
    return this.seq;
  }

  subscribe(fn: Subscriber): void {
    this.subscribers.push(fn);
  }

  emit(body: RunEventBody): RunEvent {
    this.seq += 1;
    const event = maskDeep(
      {
        seq: this.seq,
        time: new Date(this.clock.now()).toISOString(),
        ...(this.clock.simulated ? { wallTime: new Date().toISOString() } : {}),
        runId: this.runId,
        ...body,
      },
      this.mask,
    ) as RunEvent;
    for (const fn of this.subscribers) {
      try {
        fn(event);
      } catch (err) {
        if (!this.failed.has(fn)) {
          this.failed.add(fn);
          this.onSubscriberError(err);
        }
      }
    }
    return event;
  }
}
