import type { UnsealedEntry } from '../model/audit-entry.js';
import type { ProviderDeps } from './provider-deps.js';

/**
 * Append-only record of a run, with secrets already masked by the caller. No message a sink
 * produces (thrown or reported) carries a credential: URLs are named without user info or query,
 * and header values are never quoted.
 */
export interface AuditSink {
  readonly type: string;
  /**
   * Proves, once before the run changes anything, that the destination can be written (a file
   * sink creates its folder and opens its file for append). Throws `ProviderError` naming the
   * destination and the cause. Idempotent; `record` and `flush` work without it.
   */
  open(): Promise<void>;
  /**
   * Queues one entry; the sink links it into its hash chain (continuing the chain its destination
   * already holds). Ordering is preserved; earlier entries are never reordered or dropped.
   */
  record(entry: UnsealedEntry): void;
  /**
   * Entries recorded and not yet at their destination, including a batch being written: what the
   * sink holds in memory. Callers flush when it grows, so a chatty step cannot pile entries up.
   */
  readonly queued: number;
  /** Writes everything queued; resolves once it is durable. Throws `ProviderError`; nothing queued is lost. */
  flush(): Promise<void>;
  /**
   * The last flush of the run, bounded: writes what is queued until `deadline` aborts (a sink may
   * stop earlier by its own limit, as `drainTimeout` of the http sink), then stops waiting and
   * keeps what is left where it can (the http sink: a local spool file). Never throws: it says
   * what did not arrive. The sink is not used after it.
   */
  close(deadline: AbortSignal): Promise<AuditDrainReport>;
}

/** What a sink's last flush could not deliver. All zero: the destination holds the whole trail. */
export interface AuditDrainReport {
  /** Entries recorded but not at the destination when the sink closed. */
  undelivered: number;
  /** The local file that keeps the undelivered entries, when they could be kept. */
  keptIn?: string;
  /** Entries dropped during the run (an http queue over `maxQueued`): gone for good. */
  dropped: number;
  /** Why the last write failed, when one did (no credentials). */
  error?: string;
}

/** What audit sinks receive beyond the provider deps: the HMAC key, when one is configured. */
export interface AuditSinkDeps extends ProviderDeps {
  hmacKey?: string;
  /** The runner's environment, where `*Env` fields (an HTTP sink's bearer token) are read. */
  env?: Record<string, string>;
}
