import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ProcessRecord, RunJournal } from '../model/journal.js';

/**
 * Keeps the run journal's account of the commands in flight. This process's token goes into the
 * journal when the session opens (with the first save, before any command starts) and into every
 * command's environment; each command's process group is added once it has started and removed
 * when it exits, and the journal is saved after each start so the record survives a SIGKILL.
 */
export class ProcessLedger {
  /** Put in every command's environment as ROLLGATE_PROCESS_TOKEN. */
  readonly token = randomBytes(12).toString('hex');
  readonly host = hostname();

  constructor(
    private readonly journal: RunJournal,
    /** Schedules a journal write; must not throw. */
    private readonly save: () => void,
  ) {
    const workers = journal.workers ?? [];
    workers.push({ token: this.token, pid: process.pid, host: this.host, startedAt: new Date().toISOString() });
    // Older workers' tokens are what a resume looks for; a long chain of resumes keeps the last few.
    journal.workers = workers.slice(-20);
  }

  /** Records a command's group; returns the function that forgets it once it has exited. */
  track(pgid: number, stage: string, step: string, command: string): () => void {
    const record: ProcessRecord = { pgid, host: this.host, stage, step, command, startedAt: new Date().toISOString() };
    this.journal.processes = [...(this.journal.processes ?? []), record];
    this.save();
    return () => {
      this.journal.processes = (this.journal.processes ?? []).filter((p) => p !== record);
    };
  }

  /** Tokens of the other processes that worked on this run (a resume looks for their commands). */
  otherTokens(): string[] {
    return (this.journal.workers ?? []).filter((w) => w.token !== this.token).map((w) => w.token);
  }
}
