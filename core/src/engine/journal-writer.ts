import type { RunJournal } from '../model/journal.js';
import type { Clock } from '../ports/clock.js';
import type { RunStore } from '../ports/run-store.js';
import { maskDeep } from '../util/mask-deep.js';

/**
 * Writes the run journal after each transition, one write at a time, and keeps what must follow a
 * write (the audit trail's flush) and what must finish before the run returns. A failed write is
 * remembered: nothing may change until a later one succeeds (`ensureRecorded`).
 */
export class JournalWriter {
  private saving: Promise<void> = Promise.resolve();
  private pending: Promise<void> | undefined;
  private readonly closers: (() => Promise<void>)[] = [];
  private readonly savers: (() => Promise<void>)[] = [];
  private readonly before: (() => void)[] = [];
  private afterSave: Promise<void> = Promise.resolve();
  /**
   * The error of the last journal write, while no later write has succeeded: the journal on disk
   * is behind the run. A run that ends with it set exits saying its final state is not recorded.
   */
  saveError: unknown;

  constructor(
    private readonly journal: RunJournal,
    private readonly store: RunStore,
    private readonly clock: Clock,
    private readonly mask: (text: string) => string,
    /** The last event sequence number, kept in the journal so a resumed run keeps numbering. */
    private readonly lastSeq: () => number,
  ) {}

  /**
   * Writes the journal. Saves are serialised, and each one writes the state as it is when its turn
   * comes, so the file on disk never goes backwards.
   */
  save(): Promise<void> {
    // Calls made while a write is in flight share the next write: it captures the state as it is
    // when it starts, which includes every change made before any of those calls.
    this.pending ??= this.saving.catch(() => {}).then(() => {
      this.pending = undefined;
      const writing = this.write();
      return this.clock.hold ? this.clock.hold(writing) : writing;
    });
    this.saving = this.pending;
    return this.pending;
  }

  /** A save that must not stop what is in progress (a rollback): a failure stays in `saveError`. */
  async saveBestEffort(): Promise<void> {
    try {
      await this.save();
    } catch {
      // Remembered in saveError by write().
    }
  }

  /** Before a change: after a failed write, writes again, and throws if the journal still cannot be written. */
  async ensureRecorded(): Promise<void> {
    if (this.saveError === undefined) return;
    await this.save();
  }

  /** Work to do just before every write (the live provider states capture themselves). */
  beforeWrite(fn: () => void): void {
    this.before.push(fn);
  }

  /** Work to do after every journal write (flushing the audit trail); must not throw. */
  onSave(fn: () => Promise<void>): void {
    this.savers.push(fn);
  }

  /** Work to finish before the run returns (flushing notifiers and audit sinks). */
  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    await this.afterSave;
    for (const fn of this.closers) await fn();
  }

  private async write(): Promise<void> {
    this.journal.updatedAt = new Date(this.clock.now()).toISOString();
    this.journal.seq = this.lastSeq();
    // A resumed run's virtual clock continues where this one stands.
    if (this.clock.simulated) this.journal.clock = { virtualNow: this.clock.now() };
    for (const fn of this.before) fn();
    // Step errors and messages quote command output: the journal gets the same masking as events.
    try {
      await this.store.save(maskDeep(this.journal, this.mask));
      this.saveError = undefined;
    } catch (err) {
      this.saveError = err;
      throw err;
    }
    // The audit trail is written at the same transitions, so a crash loses at most what happened
    // since the last one; it is written beside the run, not in its way.
    this.afterSave = this.afterSave.then(async () => {
      for (const fn of this.savers) await fn();
    });
  }
}
