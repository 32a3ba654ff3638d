import type { RunEvent } from '../model/events.js';

/** Append-only record of every event, with secrets already redacted by the caller. */
export interface AuditSink {
  readonly type: string;
  /** Queues one event. Ordering is preserved. Never reorders or drops earlier events. */
  record(event: RunEvent): void;
  /** Writes everything queued; resolves once it is durable. Throws `ProviderError`. */
  flush(): Promise<void>;
}
