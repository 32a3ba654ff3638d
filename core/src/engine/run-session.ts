import type { LoadedWorkflow } from '../definition/load.js';
import type { Stage, Workflow } from '../definition/schema.js';
import type { RunEventBody } from '../model/events.js';
import type { RunJournal, StageRecord } from '../model/journal.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { RunStore } from '../ports/run-store.js';
import type { StepContext } from '../ports/step-context.js';
import { simConfigSchema, type FailureSpec, type SimConfig } from '../sim/config.js';
import { createSimWorld, type SimWorld } from '../sim/world.js';
import { inputEnvVar, varEnvVar } from '../util/env-name.js';
import { maskDeep } from '../util/mask-deep.js';
import { PROCESS_TOKEN_VAR } from '../util/process-scan.js';
import type { EventBus } from './event-bus.js';
import { ProcessLedger } from './process-ledger.js';
import type { RetryPolicy } from './retry.js';
import { withheldEnvVars } from './run-setup.js';

/**
 * Everything one run shares: the workflow, its journal and store, the event bus, the clock, the
 * simulated worlds, and the environment handed to commands. Stage runners and the rollback read
 * and write the run through this object only.
 */
export class RunSession {
  private readonly worlds = new Map<string, SimWorld>();
  private saving: Promise<void> = Promise.resolve();
  private pending: Promise<void> | undefined;
  private readonly closers: (() => Promise<void>)[] = [];
  private readonly savers: (() => Promise<void>)[] = [];
  private afterSave: Promise<void> = Promise.resolve();
  /** The audit side of the run, once attached (see sinks.ts). */
  audit: { readonly auditIncomplete: readonly string[] } | undefined;
  /** The commands this process has in flight, as the journal records them. */
  readonly processes: ProcessLedger;
  /** What commands inherit: the runner's environment without rollgate's own credentials. */
  private readonly inherited: Record<string, string>;

  constructor(
    readonly loaded: LoadedWorkflow,
    readonly journal: RunJournal,
    readonly store: RunStore,
    readonly bus: EventBus,
    readonly clock: Clock,
    /** The runner's environment (PATH, HOME, secrets named by *Env fields). */
    readonly env: Record<string, string>,
    readonly scenario: FailureSpec[],
  ) {
    this.processes = new ProcessLedger(journal, () => void this.saveBestEffort());
    const withheld = withheldEnvVars(loaded.workflow);
    this.inherited = Object.fromEntries(Object.entries(env).filter(([name]) => !withheld.has(name)));
  }

  get workflow(): Workflow {
    return this.loaded.workflow;
  }

  get runId(): string {
    return this.journal.runId;
  }

  stage(name: string): Stage {
    const stage = this.workflow.stages.find((s) => s.name === name);
    if (!stage) throw new Error(`stage ${name} is not in the workflow`);
    return stage;
  }

  record(name: string): StageRecord {
    const record = this.journal.stages[name];
    if (!record) throw new Error(`stage ${name} is not in the run journal`);
    return record;
  }

  emit(body: RunEventBody): void {
    const event = this.bus.emit(body);
    this.journal.seq = event.seq;
  }

  /**
   * Writes the journal after a transition. Saves are serialised, and each one writes the state as
   * it is when its turn comes, so the file on disk never goes backwards.
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

  /**
   * The error of the last journal write, while no later write has succeeded: the journal on disk
   * is behind the run. Nothing may change until a write succeeds (see `ensureRecorded`), and a run
   * that ends with it set exits saying its final state is not recorded.
   */
  saveError: unknown;

  /**
   * A save that must not stop what is in progress (a rollback): a failure is remembered and
   * reported when the run ends, and the undo goes on.
   */
  async saveBestEffort(): Promise<void> {
    try {
      await this.save();
    } catch {
      // Remembered in saveError by write().
    }
  }

  /**
   * Before a change: when an earlier write failed, writes again, and throws if the journal still
   * cannot be written, so nothing changes that a resumed run could not know about.
   */
  async ensureRecorded(): Promise<void> {
    if (this.saveError === undefined) return;
    await this.save();
  }

  private async write(): Promise<void> {
    this.journal.updatedAt = new Date(this.clock.now()).toISOString();
    this.journal.seq = this.bus.lastSeq;
    if (this.worlds.size > 0) {
      this.journal.sim = { clock: this.clock.now(), worlds: Object.fromEntries([...this.worlds].map(([k, w]) => [k, w.toJSON()])) };
    }
    // Step errors and messages quote command output: the journal gets the same masking as events.
    try {
      await this.store.save(maskDeep(this.journal, this.bus.mask));
      this.saveError = undefined;
    } catch (err) {
      this.saveError = err;
      throw err;
    }
    // The audit trail is written at the same transitions, so a crash loses at most what happened
    // since the last one; it is written beside the run, not in its way (closeSinks waits for it).
    this.afterSave = this.afterSave.then(async () => {
      for (const fn of this.savers) await fn();
    });
  }

  /** Registers work to finish before the run returns (flushing notifiers and audit sinks). */
  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /** Work to do after every journal write (flushing the audit trail); must not throw. */
  onSave(fn: () => Promise<void>): void {
    this.savers.push(fn);
  }

  async closeSinks(): Promise<void> {
    await this.afterSave;
    for (const fn of this.closers) await fn();
  }

  /** The simulated infrastructure of one environment, restored from the journal when resuming. */
  world(environment: string): SimWorld {
    let world = this.worlds.get(environment);
    if (!world) {
      const saved = (this.journal.sim as { worlds?: Record<string, unknown> } | undefined)?.worlds?.[environment];
      world = createSimWorld(simConfigFor(this.workflow, environment, this.scenario), this.clock, saved);
      this.worlds.set(environment, world);
    }
    return world;
  }

  /** What run-wide providers (notifiers, audit sinks) get: no stage, so no target. */
  deps(environment: string, log: Logger): ProviderDeps {
    return {
      runId: this.runId,
      clock: this.clock,
      log,
      environment,
      workDir: this.loaded.dir,
      secret: (name) => this.env[name] || undefined,
      sim: () => this.world(environment),
    };
  }

  /** What the providers of a stage get: its environment and its target, for their defaults. */
  stageDeps(stage: Stage, log: Logger): ProviderDeps {
    return { ...this.deps(stage.environment, log), target: stage.target };
  }

  retryPolicy(stage: Stage): RetryPolicy {
    return stage.retry ?? this.workflow.defaults.retry;
  }

  /**
   * The environment of every command: the runner's (PATH, HOME, the CI's variables, the secrets a
   * deploy needs) without the credentials rollgate reads itself (the audit HMAC key, tokens of
   * audit sinks, notifiers and probes), plus the ROLLGATE_* values. A deploy script that could read
   * the audit key could forge a trail that verifies.
   */
  commandEnv(stage: Stage, version: string): Record<string, string> {
    const env: Record<string, string> = {
      ...this.inherited,
      [PROCESS_TOKEN_VAR]: this.processes.token,
      ROLLGATE_RUN_ID: this.runId,
      ROLLGATE_WORKFLOW: this.workflow.name,
      ROLLGATE_STAGE: stage.name,
      ROLLGATE_ENVIRONMENT: stage.environment,
      ROLLGATE_VERSION: version,
      ROLLGATE_ACTOR: this.journal.context.actor,
    };
    for (const [k, v] of Object.entries(this.journal.inputs)) env[inputEnvVar(k)] = v;
    for (const [k, v] of Object.entries(this.workflow.environments[stage.environment]?.variables ?? {})) env[varEnvVar(k)] = v;
    return env;
  }

  stepContext(stage: Stage, step: string, signal: AbortSignal, version: string): StepContext {
    const log = this.logger(stage.name, step);
    return {
      runId: this.runId,
      stage: stage.name,
      step,
      signal,
      clock: this.clock,
      log,
      env: this.commandEnv(stage, version),
      recordChange: (change) => this.emit({ kind: 'infra.changed', stage: stage.name, step, change }),
      mask: this.bus.mask,
      trackProcess: (pgid, command) => this.processes.track(pgid, stage.name, step, command),
    };
  }

  logger(stage: string, step: string): Logger {
    return {
      info: (line) => this.emit({ kind: 'step.output', stage, step, stream: 'stdout', line }),
      warn: (line) => this.emit({ kind: 'step.output', stage, step, stream: 'stderr', line }),
      output: (stream, line) => this.emit({ kind: 'step.output', stage, step, stream, line }),
    };
  }
}

/** The sim config that applies in an environment, with the scenario file's failures added. */
export function simConfigFor(workflow: Workflow, environment: string, scenario: FailureSpec[]): SimConfig {
  const base = workflow.environments[environment]?.sim ?? workflow.sim ?? simConfigSchema.parse({});
  return scenario.length > 0 ? { ...base, failures: [...base.failures, ...scenario] } : base;
}
