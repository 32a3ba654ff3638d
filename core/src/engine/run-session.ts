import type { LoadedWorkflow } from '../definition/load.js';
import type { Stage, Workflow } from '../definition/schema.js';
import { InternalError } from '../errors.js';
import type { RunEventBody } from '../model/events.js';
import type { RunJournal, StageRecord } from '../model/journal.js';
import type { Clock } from '../ports/clock.js';
import type { RunStore } from '../ports/run-store.js';
import type { EventBus } from './event-bus.js';
import { JournalWriter } from './journal-writer.js';
import { ProcessLedger } from './process-ledger.js';
import { ProviderContexts } from './provider-contexts.js';
import { ProviderStates } from './provider-states.js';

/**
 * One run as the stage runners and the rollback see it: the workflow and its journal, the event
 * bus they report to, and the parts that do the rest, each in its own file: `writer` (the journal
 * on disk), `providers` (the run's providers and what they are handed), `processes` (the commands
 * in flight).
 */
export class RunSession {
  readonly writer: JournalWriter;
  readonly providers: ProviderContexts;
  /** The commands this process has in flight, as the journal records them. */
  readonly processes: ProcessLedger;
  /** The audit side of the run, once attached (see sinks.ts). */
  audit: { readonly auditIncomplete: readonly string[] } | undefined;

  constructor(
    readonly loaded: LoadedWorkflow,
    readonly journal: RunJournal,
    readonly store: RunStore,
    readonly bus: EventBus,
    readonly clock: Clock,
    /** The runner's environment (PATH, HOME, secrets named by *Env fields). */
    readonly env: Record<string, string>,
  ) {
    this.writer = new JournalWriter(journal, store, clock, bus.mask, () => bus.lastSeq);
    const states = new ProviderStates(journal, () => this.writer.save());
    this.writer.beforeWrite(() => states.capture());
    this.processes = new ProcessLedger(journal, () => void this.writer.saveBestEffort());
    this.providers = new ProviderContexts({ loaded, journal, clock, env, processes: this.processes, mask: bus.mask, emit: (b) => this.emit(b) }, states);
  }

  get workflow(): Workflow {
    return this.loaded.workflow;
  }

  get runId(): string {
    return this.journal.runId;
  }

  stage(name: string): Stage {
    const stage = this.workflow.stages.find((s) => s.name === name);
    if (!stage) throw new InternalError(`stage ${name} is not in the workflow`);
    return stage;
  }

  record(name: string): StageRecord {
    const record = this.journal.stages[name];
    if (!record) throw new InternalError(`stage ${name} is not in the run journal`);
    return record;
  }

  emit(body: RunEventBody): void {
    const event = this.bus.emit(body);
    this.journal.seq = event.seq;
  }
}
