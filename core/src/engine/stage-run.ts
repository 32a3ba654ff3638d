import type { Stage, StrategyConfig } from '../definition/schema.js';
import { InternalError, ProviderError } from '../errors.js';
import type { CompensationOpName, CompensationRecord, StageRecord } from '../model/journal.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { StepContext } from '../ports/step-context.js';
import type { StrategyRuntime, StrategyStep } from '../ports/strategy.js';
import type { CandidateTarget, FleetTarget, Target } from '../ports/target.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { analysisResolver } from './analysis-resolver.js';
import { stageScope } from './plan.js';
import type { AnalysisEnv } from './analysis.js';
import type { RunSession } from './run-session.js';
import { createStrategy } from './wiring.js';

/**
 * One stage while it runs: its providers, its strategy's runtime settings, and what the monitor
 * should watch. Step handlers and the monitor share it; the journal stays the record of truth.
 */
export class StageRun {
  readonly record: StageRecord;
  readonly target: Target;
  readonly router: TrafficRouter | undefined;
  runtime: StrategyRuntime;
  /** Traffic percentage sent to the candidate, as this stage last set it. */
  weight = 0;
  /** Resolves when the candidate first takes traffic: background analysis measures from then on. */
  readonly trafficStarted: Promise<void>;
  private markTraffic: () => void = () => {};
  /** Set once the stage has something deployed whose health the monitor should watch. */
  watch: 'none' | 'target' | 'candidate' = 'none';
  /** Units a progressive rollout changed, and those that failed. */
  readonly changedUnits = new Set<string>();
  readonly failedUnits = new Map<string, string>();
  /** Set by background analysis that turned inconclusive: pause at the next step boundary. */
  pauseRequest: string | undefined;
  private readonly providers = new Map<string, MetricProvider>();
  /** What providers read while the plan was decided, handed to the first step that runs next. */
  private planObserved: Map<object, unknown> | undefined;

  constructor(
    readonly session: RunSession,
    readonly stage: Stage,
  ) {
    this.record = session.record(stage.name);
    const log = session.providers.logger(stage.name, 'providers');
    this.target = session.providers.target(stage, log);
    this.router = session.providers.router(stage, log);
    this.runtime = this.runtimeFor(this.strategyConfig());
    this.trafficStarted = new Promise<void>((resolve) => (this.markTraffic = resolve));
    // A resumed wave knows which units it already changed from the undos in the journal.
    for (const c of this.record.compensations) if (c.op === 'unit.revert') this.changedUnits.add(c.params.unit as string);
  }

  /** The strategy in force: the one `auto` chose (kept in the journal), or the stage's own. */
  strategyConfig(): StrategyConfig {
    return (this.record.chosen as StrategyConfig | undefined) ?? this.stage.strategy;
  }

  /**
   * The steps: the strategy's plan for its config, or the shortcut the facts of the stage's start
   * call for (nothing runs yet: deploy directly; the version already runs: nothing to do).
   */
  plan(): StrategyStep[] {
    const config = this.strategyConfig();
    const strategy = createStrategy(config);
    const shortcut = this.record.facts ? strategy.shortcut?.(this.record.facts, this.version) : undefined;
    return shortcut ? shortcut.steps : strategy.plan(config, this.analyses());
  }

  /**
   * Reads, once per stage and before any change, what the plan may depend on: the version the
   * target runs. Kept in the journal, so a resumed run plans the same; a shortcut it calls for is
   * recorded as a decision. A target that cannot tell what runs gives no facts.
   */
  async establishFacts(signal: AbortSignal): Promise<void> {
    if (this.record.facts) return;
    const strategy = createStrategy(this.strategyConfig());
    if (!strategy.shortcut || this.target.knowsCurrent === false) return;
    const ctx = this.ctx('plan', signal);
    this.planObserved = ctx.observed;
    const current = await this.target.current(ctx);
    const facts = { running: current?.version ?? null };
    this.record.facts = facts;
    const shortcut = strategy.shortcut(facts, this.version);
    if (shortcut) {
      this.session.emit({
        kind: 'decision.made',
        stage: this.stage.name,
        decision: shortcut.decision,
        reason: shortcut.reason,
        evidence: { values: { running: facts.running, requested: this.version } },
      });
    }
  }

  /** The stage's analyses, their queries' placeholders filled for this stage and run. */
  private analyses() {
    return analysisResolver(this.session.workflow, stageScope(this.session.workflow, this.stage, this.session.journal.inputs));
  }

  runtimeFor(config: StrategyConfig): StrategyRuntime {
    return createStrategy(config).runtime?.(config, this.analyses()) ?? {};
  }

  /**
   * After a pause, what the steps that already ran left behind: the weight in force and what the
   * monitor watches. The journal's step records are the source.
   */
  restoreProgress(): void {
    const done = new Set(this.record.steps.filter((s) => s.status === 'succeeded').map((s) => s.id));
    for (const step of this.plan()) {
      if (!done.has(step.id)) continue;
      if (step.action === 'set-weight') this.setWeight(step.weight);
      if (step.action === 'deploy-candidate') this.watch = 'candidate';
      if (step.action === 'promote' || step.action === 'deploy') this.watch = 'target';
    }
  }

  /** Records a traffic weight the stage set (or found, when resuming). */
  setWeight(weight: number): void {
    this.weight = weight;
    if (weight > 0) this.markTraffic();
  }

  get version(): string {
    return this.record.version;
  }

  candidates(): CandidateTarget {
    if (!this.target.candidates) {
      // Validation refuses a strategy whose target lacks the capability.
      throw new InternalError(`stage ${this.stage.name}: the ${this.target.type} target cannot run two versions side by side (needed by ${this.strategyConfig().type})`);
    }
    return this.target.candidates;
  }

  fleet(): FleetTarget {
    if (!this.target.fleet) throw new InternalError(`stage ${this.stage.name}: the ${this.target.type} target is not a fleet (needed by progressive)`);
    return this.target.fleet;
  }

  ctx(step: string, signal: AbortSignal, observed?: Map<object, unknown>): StepContext {
    return this.session.providers.stepContext(this.stage, step, signal, this.version, observed);
  }

  /**
   * What was read while the plan was decided, once: the first step reads the same things moments
   * later (what runs, before it changes it), and the answer cannot be fresher. Later steps, and a
   * retried attempt, read again.
   */
  takePlanObservations(): Map<object, unknown> | undefined {
    const observed = this.planObserved;
    this.planObserved = undefined;
    return observed;
  }

  provider(name: string): MetricProvider {
    let provider = this.providers.get(name);
    if (!provider) {
      const config = this.session.workflow.metricProviders[name];
      if (!config) throw new ProviderError(`metric provider '${name}' is not defined; metricProviders: ${Object.keys(this.session.workflow.metricProviders).join(', ')}`);
      provider = this.session.providers.metricProvider(this.stage, name, config, this.session.providers.logger(this.stage.name, 'analysis'));
      this.providers.set(name, provider);
    }
    return provider;
  }

  analysisEnv(step: string): AnalysisEnv {
    return {
      clock: this.session.clock,
      stage: this.stage.name,
      provider: (name) => this.provider(name),
      query: (provider, query, signal) => provider.query(query, this.ctx(step, signal)),
      emit: (body) => this.session.emit(body),
    };
  }

  /**
   * Records how to undo a change and writes it to the journal before the change happens. An undo
   * with the same op and key is registered once per stage: a retried step, or a second weight
   * change, does not add another.
   */
  async registerUndo(stepId: string, op: CompensationOpName, description: string, params: Record<string, unknown>, key = ''): Promise<CompensationRecord | undefined> {
    const id = `${op}:${key}`;
    const kept = this.record.compensations.find((c) => c.id === id);
    // Closed unused because an earlier attempt never began its change: this attempt may change
    // something, so the undo is open again (with what this attempt knows) before it starts.
    if (kept?.status === 'done' && kept.error?.startsWith(NOT_NEEDED)) {
      Object.assign(kept, { stepId, description, params, status: 'pending' });
      delete kept.error;
      await this.saveOrForget(1);
      return kept;
    }
    if (kept) return undefined;
    const record = undo(id, stepId, op, description, params);
    this.record.compensations.push(record);
    await this.saveOrForget(1);
    return record;
  }

  /**
   * Registers the undo of `change` (journalled before it starts), then makes the change. When the
   * change certainly did not begin (`ProviderError.nothingChanged`: the program was not found), the
   * undo registered for it is closed unused: an undo of nothing can do harm.
   */
  async withUndo<T>(
    undoOf: { stepId: string; op: CompensationOpName; description: string; params: Record<string, unknown>; key?: string },
    change: () => Promise<T>,
  ): Promise<T> {
    const fresh = await this.registerUndo(undoOf.stepId, undoOf.op, undoOf.description, undoOf.params, undoOf.key);
    try {
      return await change();
    } catch (err) {
      if (fresh && err instanceof ProviderError && err.nothingChanged) {
        fresh.status = 'done';
        fresh.error = `${NOT_NEEDED} the change never began (${err.message.split('\n')[0] ?? ''})`;
        await this.session.writer.saveBestEffort();
      }
      throw err;
    }
  }

  /** Registers many undos with one journal write (a progressive wave). */
  async registerUndos(items: { stepId: string; op: CompensationOpName; description: string; params: Record<string, unknown>; key: string }[]): Promise<void> {
    const known = new Set(this.record.compensations.map((c) => c.id));
    const fresh = items.filter((i) => !known.has(`${i.op}:${i.key}`));
    for (const i of fresh) this.record.compensations.push(undo(`${i.op}:${i.key}`, i.stepId, i.op, i.description, i.params));
    await this.saveOrForget(fresh.length);
  }

  /** Without its undo on disk a change must not happen: drop the new entries if the write fails. */
  private async saveOrForget(added: number): Promise<void> {
    try {
      await this.session.writer.save();
    } catch (err) {
      this.record.compensations.splice(this.record.compensations.length - added, added);
      throw err;
    }
  }
}

/** How an undo closed unused starts its `error`: see `withUndo`. */
const NOT_NEEDED = 'not needed:';

function undo(id: string, stepId: string, op: CompensationOpName, description: string, params: Record<string, unknown>): CompensationRecord {
  return { id, stepId, description, op, params, status: 'pending', attempts: 0 };
}
