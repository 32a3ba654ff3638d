import type { DeployedState, HealthReport } from '../model/results.js';
import type { StepContext } from './step-context.js';

/** Where versions run: a Deployment, a fleet, anything with a CLI, the simulation. */
export interface Target {
  readonly type: string;
  /**
   * What runs now. `undefined` means nothing is deployed yet (a first deploy) or the target cannot
   * tell. Read-only. Throws `ProviderError`.
   */
  current(ctx: StepContext): Promise<DeployedState | undefined>;
  /**
   * Rolls `version` out to the whole target. Idempotent: deploying the version that already runs
   * changes nothing. Reports what it changed through `ctx.recordChange`. Throws `ProviderError`
   * (with `retryable` for transient faults).
   */
  deploy(version: string, ctx: StepContext): Promise<void>;
  /** Whether the deployed version serves. Read-only. Throws `ProviderError` when it cannot tell. */
  health(ctx: StepContext): Promise<HealthReport>;
  /**
   * Puts `previous` back, or removes what `deploy` created when `previous` is undefined (first
   * deploy). Idempotent; used by rollback, so it must work after a crash in a new process.
   */
  revert(previous: DeployedState | undefined, ctx: StepContext): Promise<void>;
}
