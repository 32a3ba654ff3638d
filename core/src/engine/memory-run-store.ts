import type { RunJournal } from '../model/journal.js';
import type { RunStore } from '../ports/run-store.js';
import { parseJournal } from './file-run-store.js';

/** A journal kept in memory: for tests, benchmarks and library users who persist elsewhere. */
export class MemoryRunStore implements RunStore {
  readonly location = 'memory';
  private text: string | undefined;
  async load(): Promise<RunJournal | undefined> {
    return this.text === undefined ? undefined : parseJournal(this.text, this.location);
  }
  async save(journal: RunJournal): Promise<void> {
    this.text = JSON.stringify(journal);
  }
}
