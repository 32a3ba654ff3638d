import type { RunJournal } from '../model/journal.js';

/** Keeps the run journal between processes (CI jobs, crashes). */
export interface RunStore {
  /** Where the journal lives, for messages. */
  readonly location: string;
  /**
   * Reads the journal. `undefined` means no journal exists yet. Throws `JournalError` when the
   * file is unreadable, truncated, corrupt or not a rollgate journal, and changes nothing.
   */
  load(): Promise<RunJournal | undefined>;
  /** Replaces the journal atomically (temp file, fsync, rename): a crash leaves old or new, never half. */
  save(journal: RunJournal): Promise<void>;
}
