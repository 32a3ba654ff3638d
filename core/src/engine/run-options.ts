import type { LoadedWorkflow } from '../definition/load.js';
import type { RunStatus } from '../model/events.js';
import type { RunJournal } from '../model/journal.js';
import type { RunContext } from '../model/run-context.js';
import type { Clock } from '../ports/clock.js';
import type { RunStore } from '../ports/run-store.js';
import type { DeliveryTimer } from '../notifiers/delivery-queue.js';
import type { Subscriber } from './event-bus.js';
import type { Selection } from './plan.js';

/** What `runWorkflow` takes: the workflow, where its journal lives, who runs it, and its edge. */
export interface RunOptions {
  loaded: LoadedWorkflow;
  store: RunStore;
  context: RunContext;
  inputs?: Record<string, string>;
  selection?: Selection;
  /** The runner's environment: commands inherit it and `*Env` secrets are read from it. */
  env?: Record<string, string>;
  /** Aborting it cancels the run: the step in flight stops and its stage rolls back. */
  signal?: AbortSignal;
  /**
   * Aborting it ends the audit trail's last flush at once, after the run ended (a person, or a
   * CI runner, insisting that the process exit): what is undelivered is kept in its spool.
   */
  stopDrain?: AbortSignal;
  subscribers?: Subscriber[];
  /** Overrides the clock the workflow asks for (tests). */
  clock?: Clock;
  runId?: string;
  /** Called with problems that must not stop the run (a notifier or subscriber failing). Masked. */
  onWarning?: (message: string) => void;
  /** Where the `console` notifier writes (the job log); silent by default. */
  onNotice?: (message: string) => void;
  /**
   * How long the end of the run waits for notifications still queued (default 5 s; what is left
   * then is reported as not delivered), and the timer of their retries (a test seam).
   */
  notifications?: { drainMs?: number; timer?: DeliveryTimer };
}

export interface ResumeOptions extends Omit<RunOptions, 'inputs' | 'selection' | 'runId'> {
  /** The decision for a run paused at an approval gate. */
  decision?: { approve: boolean; by: string; comment?: string };
  /** After a manual intervention: what was left was fixed by hand. */
  resolved?: { by: string; comment: string };
  /** Finish a rollback although the workflow file changed (a fixed undo command). */
  acceptChangedWorkflow?: boolean;
}

export interface RunOutcome {
  runId: string;
  status: RunStatus;
  exitCode: number;
  journal: RunJournal;
  /** Set when the journal could not be written at the end: the file does not show `status`. */
  journalError?: string;
  /**
   * Why the audit trail is not whole (a sink that is not best-effort could not write an entry, or
   * held entries undelivered at the end). Empty when every such sink holds the whole trail.
   */
  auditIncomplete: readonly string[];
}

/** The exit code of a run whose journal could not record its final state. */
export const EXIT_NOT_RECORDED = 5;
/** The exit code of a run that succeeded but whose audit trail is not whole. */
export const EXIT_AUDIT_INCOMPLETE = 6;

/** The CLI's exit codes are part of the interface. */
export function exitCodeFor(status: RunStatus): number {
  switch (status) {
    case 'succeeded':
      return 0;
    case 'failed':
    case 'rolled-back':
      return 1;
    case 'paused':
      return 3;
    case 'manual-intervention-required':
      return 4;
    case 'cancelled':
      return 130;
    case 'running':
      return 70;
  }
}
