/**
 * A strategy is a pure planner: from its config it returns the steps the executor runs. It does
 * no I/O, so plans are table-tested and shown by `rollgate plan` exactly as they will run.
 */
export type StrategyStep =
  | { id: string; action: 'deploy' }
  | { id: string; action: 'verify' }
  | { id: string; action: 'pause'; durationMs: number };

export interface Strategy<Config = unknown> {
  readonly type: string;
  plan(config: Config): StrategyStep[];
}
