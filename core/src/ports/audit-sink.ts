import type { UnsealedEntry } from '../audit/entry.js';
import type { ProviderDeps } from './provider-deps.js';

/** Append-only record of a run, with secrets already masked by the caller. */
export interface AuditSink {
  readonly type: string;
  /**
   * Queues one entry; the sink links it into its hash chain (continuing the chain its destination
   * already holds). Ordering is preserved; earlier entries are never reordered or dropped.
   */
  record(entry: UnsealedEntry): void;
  /** Writes everything queued; resolves once it is durable. Throws `ProviderError`. */
  flush(): Promise<void>;
}

/** What audit sinks receive beyond the provider deps: the HMAC key, when one is configured. */
export interface AuditSinkDeps extends ProviderDeps {
  hmacKey?: string;
  /** The runner's environment, where `*Env` fields (an HTTP sink's bearer token) are read. */
  env?: Record<string, string>;
}
