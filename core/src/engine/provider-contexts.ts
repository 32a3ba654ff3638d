import type { LoadedWorkflow } from '../definition/load.js';
import type { MetricProviderConfig, ProbeConfig, Stage, Workflow } from '../definition/schema.js';
import type { RunEventBody } from '../model/events.js';
import type { RunJournal } from '../model/journal.js';
import type { Approver } from '../ports/approver.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { Target } from '../ports/target.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { inputEnvVar, varEnvVar } from '../util/env-name.js';
import { PROCESS_TOKEN_VAR } from '../util/process-scan.js';
import type { ProcessLedger } from './process-ledger.js';
import { ProviderError } from '../errors.js';
import type { ProbeResult } from '../model/results.js';
import { ProviderStates } from './provider-states.js';
import { takeSnapshot } from './snapshot.js';
import { withheldEnvVars, secretSources } from './run-setup.js';
import { createApprover, createMetricProvider, createProbe, createRouter, createTarget } from './wiring.js';

/** What the providers of a run are made from: the part of the session they see. */
export interface ProviderSource {
  readonly loaded: LoadedWorkflow;
  readonly journal: RunJournal;
  readonly clock: Clock;
  /** The runner's environment. */
  readonly env: Record<string, string>;
  readonly processes: ProcessLedger;
  readonly mask: (text: string) => string;
  emit(body: RunEventBody): void;
}

/**
 * Makes the run's providers and what they are handed: their deps (with their state in the
 * journal, their family's settings, the secrets their config names), the step context of each
 * call, and the environment of every command.
 */
export class ProviderContexts {
  /** What commands inherit: the runner's environment without rollgate's own credentials. */
  private readonly inherited: Record<string, string>;
  /** The secrets a provider may read: those the workflow names (and so masks). */
  private readonly secrets: Map<string, string>;

  constructor(
    private readonly source: ProviderSource,
    readonly states: ProviderStates,
  ) {
    const withheld = withheldEnvVars(source.loaded.workflow);
    this.inherited = Object.fromEntries(Object.entries(source.env).filter(([name]) => !withheld.has(name)));
    this.secrets = new Map(secretSources(source.loaded.workflow, source.env).map((s) => [s.name, s.value]));
  }

  private get workflow(): Workflow {
    return this.source.loaded.workflow;
  }

  /** Deps of a provider whose state is kept under `key`; `target` for the providers of a stage. */
  deps(environment: string, log: Logger, key: string, target?: Stage['target']): ProviderDeps {
    const settingsOf = (family: string) => {
      const own = (this.workflow.environments[environment] as Record<string, unknown> | undefined)?.[family];
      return own ?? (this.workflow as unknown as Record<string, unknown>)[family];
    };
    return {
      runId: this.source.journal.runId,
      clock: this.source.clock,
      log,
      environment,
      workDir: this.source.loaded.dir,
      secret: (name) => this.secrets.get(name),
      ...(target ? { target } : {}),
      state: this.states.handle(key),
      shared: (family) => this.states.handle(`${family}@${environment}`),
      settings: settingsOf,
      probe: (name, ctx) => this.measure(environment, log, name, ctx),
    };
  }

  /** One probe of the workflow, read for a provider (`deps.probe`), recorded as evidence. */
  private async measure(environment: string, log: Logger, name: string, ctx: StepContext): Promise<ProbeResult> {
    const config = Object.hasOwn(this.workflow.probes, name) ? this.workflow.probes[name] : undefined;
    // Validation refuses a provider config naming an undeclared probe (probesNamed).
    if (!config) throw new ProviderError(`probe '${name}' is not declared under probes (declared: ${Object.keys(this.workflow.probes).join(', ') || 'none'})`);
    const probe = createProbe(config, this.deps(environment, log, `probe/${name}@${environment}`));
    const snapshot = await takeSnapshot([{ name, probe, timeoutMs: config.timeout }], ctx);
    this.source.emit({ kind: 'probes.measured', stage: ctx.stage, snapshot });
    return snapshot[name] as ProbeResult;
  }

  target(stage: Stage, log: Logger): Target {
    return createTarget(stage.target, this.deps(stage.environment, log, `target/${stage.name}`, stage.target));
  }

  router(stage: Stage, log: Logger): TrafficRouter | undefined {
    return stage.router ? createRouter(stage.router, this.deps(stage.environment, log, `router/${stage.name}`, stage.target)) : undefined;
  }

  probe(stage: Stage, name: string, config: ProbeConfig, log: Logger): Probe {
    return createProbe(config, this.deps(stage.environment, log, `probe/${name}@${stage.environment}`, stage.target));
  }

  metricProvider(stage: Stage, name: string, config: MetricProviderConfig, log: Logger): MetricProvider {
    return createMetricProvider(config, this.deps(stage.environment, log, `metrics/${name}@${stage.environment}`, stage.target));
  }

  approver(stage: Stage, log: Logger): Approver {
    return createApprover(stage.approval as NonNullable<Stage['approval']>, this.deps(stage.environment, log, `approval/${stage.name}`, stage.target));
  }

  /**
   * The environment of every command: the runner's (PATH, HOME, the CI's variables, the secrets a
   * deploy needs) without the credentials rollgate reads itself (the audit HMAC key, tokens of
   * audit sinks, notifiers and probes), plus the ROLLGATE_* values. A deploy script that could read
   * the audit key could forge a trail that verifies.
   */
  commandEnv(stage: Stage, version: string): Record<string, string> {
    const { journal } = this.source;
    const env: Record<string, string> = {
      ...this.inherited,
      [PROCESS_TOKEN_VAR]: this.source.processes.token,
      ROLLGATE_RUN_ID: journal.runId,
      ROLLGATE_WORKFLOW: this.workflow.name,
      ROLLGATE_STAGE: stage.name,
      ROLLGATE_ENVIRONMENT: stage.environment,
      ROLLGATE_VERSION: version,
      ROLLGATE_ACTOR: journal.context.actor,
    };
    for (const [k, v] of Object.entries(journal.inputs)) env[inputEnvVar(k)] = v;
    for (const [k, v] of Object.entries(this.workflow.environments[stage.environment]?.variables ?? {})) env[varEnvVar(k)] = v;
    return env;
  }

  stepContext(stage: Stage, step: string, signal: AbortSignal, version: string, observed = new Map<object, unknown>()): StepContext {
    return {
      observed,
      runId: this.source.journal.runId,
      stage: stage.name,
      step,
      signal,
      clock: this.source.clock,
      log: this.logger(stage.name, step),
      env: this.commandEnv(stage, version),
      recordChange: (change) => this.source.emit({ kind: 'infra.changed', stage: stage.name, step, change }),
      mask: this.source.mask,
      trackProcess: (pgid, command) => this.source.processes.track(pgid, stage.name, step, command),
    };
  }

  logger(stage: string, step: string): Logger {
    const emit = (stream: 'stdout' | 'stderr', line: string) => this.source.emit({ kind: 'step.output', stage, step, stream, line });
    return { info: (line) => emit('stdout', line), warn: (line) => emit('stderr', line), output: emit };
  }
}
