import type { MetricUnit } from '../model/units.js';

/**
 * A strategy is a pure planner: from its config it returns the steps the executor runs. It does
 * no I/O, so plans are table-tested and shown by `rollgate plan` exactly as they will run.
 */

/** A metric check, resolved from a named template or written inline (see engine/analysis.ts). */
export interface MetricSpec {
  name: string;
  provider: string;
  query: string;
  successCondition?: string;
  failureCondition?: string;
  intervalMs: number;
  /** Measurements that count; absent: 1, or for background analysis, until the rollout ends. */
  count?: number;
  initialDelayMs: number;
  failureLimit: number;
  consecutiveErrorLimit: number;
  inconclusiveLimit: number;
  onNoData: 'fail' | 'inconclusive' | 'pass';
  dryRun: boolean;
  /** How its values read (`ratio`: 0.0293 reads 2.93%); see util/format-number.ts. */
  unit?: MetricUnit;
}

/** How many replicas or units: a count, or a percentage of the full scale. */
export type Amount = { count: number } | { percent: number };

export type StrategyStep =
  /** direct: roll the version out to the whole target. */
  | { id: string; action: 'deploy' }
  /** direct: poll the target's health until healthy. */
  | { id: string; action: 'verify' }
  /** Wait, while the monitors keep watching. */
  | { id: string; action: 'pause'; durationMs: number }
  /** Pause the run until a person approves (exit code 3, then `resume --approve`). */
  | { id: string; action: 'approval'; message?: string }
  /** Start the new version beside the stable one, with no traffic. */
  | { id: string; action: 'deploy-candidate'; replicas: Amount | 'full' }
  /** Poll the candidate's health until healthy. */
  | { id: string; action: 'verify-candidate' }
  /** Send `weight` % of the traffic to the candidate (through the router, or by replica counts). */
  | { id: string; action: 'set-weight'; weight: number }
  /** Resize the candidate without moving traffic. */
  | { id: string; action: 'set-candidate-scale'; replicas: Amount }
  /** Measure metrics and judge them. */
  | { id: string; action: 'analysis'; metrics: MetricSpec[] }
  /** Probes that must all be ok (smoke tests against the preview). */
  | { id: string; action: 'smoke'; probes: string[] }
  /** The candidate becomes the stable version; the old one is removed. */
  | { id: string; action: 'promote' }
  /** Progressive: bring the fleet up to `upTo` units on the new version, checking each unit. */
  | { id: string; action: 'wave'; index: number; upTo: Amount }
  /** auto: choose the strategy from the probe snapshot; the chosen plan replaces this step. */
  | { id: string; action: 'choose' };

export type StrategyAction = StrategyStep['action'];

/** What a running strategy keeps alive across steps (background analysis, fleet limits…). */
export interface StrategyRuntime {
  /** Metrics measured for the whole rollout, beside its steps. */
  backgroundAnalysis?: MetricSpec[];
  /** Progressive limits; only the `progressive` strategy sets them. */
  fleet?: { maxParallel: Amount; maxUnavailable: Amount; failureBudget: Amount; verify: boolean };
  /** How long rollback waits after moving traffic away before it removes the candidate. */
  abortScaleDownDelayMs?: number;
  /** Shown to testers while a blue-green preview runs. */
  previewUrl?: string;
}

/**
 * What a plan may depend on that only the target can tell, read once when the stage starts and
 * kept in the journal (a resumed run plans the same): the version running then, `null` when
 * nothing runs yet.
 */
export interface PlanFacts {
  running: string | null;
}

/** A plan chosen from the facts rather than the config: a first deploy, or a re-deploy. */
export interface Shortcut {
  /** The decision recorded (`first-deploy`, `re-deploy`). */
  decision: string;
  reason: string;
  steps: StrategyStep[];
}

/** A place in a strategy's config, as keys and list indexes (`['steps', 2, 'pause', 'duration']`). */
export type ConfigPath = (string | number)[];

/**
 * What a strategy config asks of the stage and of the workflow, declared by the strategy so the
 * validation rules keep no knowledge of any one strategy. Paths are relative to the config.
 */
export interface StrategyDeclaration {
  /** Target capabilities it needs (`candidates` for a second version beside the first, `fleet` for waves). */
  needs: ('candidates' | 'fleet')[];
  /** Why it needs a router, when it cannot work without one (the words of the error). */
  router?: string;
  /** Waits inside one step: each must fit the step and stage deadlines. */
  waits: { path: ConfigPath; ms: number }[];
  /** Analysis references: their templates must exist and their metrics be valid. */
  analyses: { path: ConfigPath; ref: AnalysisRef }[];
  /** Probes it reads by name (smoke checks). */
  probes: { path: ConfigPath; name: string }[];
  /** Conditions it evaluates (auto's rules). */
  conditions: { path: ConfigPath; text: string }[];
  /** Strategy configs it may run instead (auto's choices): each is checked as a strategy of the stage. */
  choices: { path: ConfigPath; config: { type: string } }[];
  /** The traffic shares (percent to the new version) it sets: a router that only switches refuses those between 0 and 100. */
  weights: { path: ConfigPath; weight: number }[];
  /** What is wrong with the config that only the strategy can tell (canary weights going down). */
  problems: { path: ConfigPath; message: string }[];
}

export interface Strategy<Config = unknown> {
  readonly type: string;
  /** The steps, in order. Pure. */
  plan(config: Config, resolve: AnalysisResolver): StrategyStep[];
  /**
   * Another plan when the facts make the config's moot (nothing to shift traffic from, or the
   * version already runs); `undefined` to follow the config. Pure.
   */
  shortcut?(facts: PlanFacts, version: string): Shortcut | undefined;
  runtime?(config: Config, resolve: AnalysisResolver): StrategyRuntime;
  /** What the config asks of the stage and the workflow. Pure. */
  declares(config: Config): StrategyDeclaration;
}

/** Turns an analysis reference (template names and inline metrics) into metric specs. */
export type AnalysisResolver = (ref: AnalysisRef) => MetricSpec[];

export interface AnalysisRef {
  templates?: string[];
  metrics?: unknown[];
}
