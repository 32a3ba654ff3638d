import type { Change } from '../model/events.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/** Passed last to every port method: cancellation, time, logging and change reporting. */
export interface StepContext {
  runId: string;
  stage: string;
  step: string;
  /** Aborts on cancellation or when the step's deadline passes; long work must honour it. */
  signal: AbortSignal;
  clock: Clock;
  log: Logger;
  /** Environment variables handed to commands: the runner's env plus rollgate's ROLLGATE_* values. */
  env: Record<string, string>;
  /** Reports one infrastructure change; it becomes an `infra.changed` event and an audit entry. */
  recordChange(change: Change): void;
  /**
   * Hides the run's secrets in text a provider keeps or cuts itself (a command's captured output),
   * before it is cut: events, the journal and the audit trail are masked anyway, but a secret cut
   * in half no longer matches the mask there.
   */
  mask(text: string): string;
  /**
   * Records a command this step started, by its process group id, until it exits (call the
   * function returned). The run journal keeps the groups in flight, so `rollgate resume` after a
   * crash stops a command that outlived rollgate before it undoes anything.
   */
  trackProcess(pgid: number, command: string): () => void;
  /**
   * What providers read during this step, each under a key of its own (itself): a value read
   * moments ago in the same step is used again instead of read again (a fleet's host versions:
   * read once before a change, not once per call). The stage's first step also gets what was read
   * while its plan was decided. A provider forgets an entry when it changes what the entry
   * describes; a retried attempt, a rollback and a monitor tick start with nothing.
   */
  observed?: Map<object, unknown>;
}
