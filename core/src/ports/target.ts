import type { DeployedState, HealthReport } from '../model/results.js';
import type { StepContext } from './step-context.js';

/** What a target can do beyond deploy and revert; its module declares which it has. */
export type TargetCapability = 'candidates' | 'fleet';

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
  /**
   * `false` when the target cannot tell what runs (a command target without `current`): then an
   * undefined `current()` means "unknown", not "nothing deployed".
   */
  readonly knowsCurrent?: boolean;
  /** The canary/blue-green capability, when the target has it (see `CandidateTarget`). */
  readonly candidates?: CandidateTarget;
  /** The wave capability, when the target is a fleet (see `FleetTarget`). */
  readonly fleet?: FleetTarget;
}

/** Replica counts of the two versions of a target running side by side. */
export interface ReplicaSplit {
  stable: number;
  candidate: number;
}

/**
 * A target that can run a candidate version beside the stable one: what canary and blue-green
 * need. The stable version keeps serving until the candidate is promoted.
 */
export interface CandidateTarget {
  /** Replicas of the stable version when the candidate is scaled to "full" (blue-green's green). */
  fullScale(ctx: StepContext): Promise<number>;
  /**
   * Starts `version` beside the stable version with `replicas` (no traffic is sent to it by this
   * call), or rescales a candidate of that version. Idempotent. Waits until the replicas start.
   * Throws `ProviderError` (insufficient capacity is not retryable).
   */
  deployCandidate(version: string, replicas: number, ctx: StepContext): Promise<void>;
  /**
   * Sets both replica counts at once: used to approximate a traffic weight by replica counts when
   * there is no traffic router. Idempotent.
   */
  scale(split: ReplicaSplit, ctx: StepContext): Promise<void>;
  /** Health of the candidate's replicas only. Read-only. */
  candidateHealth(ctx: StepContext): Promise<HealthReport>;
  /**
   * The candidate becomes the stable version: stable replicas run the candidate's version at full
   * scale and the candidate replicas are removed (but see `retirePromoted`). Idempotent.
   */
  promote(ctx: StepContext): Promise<void>;
  /**
   * When present, `promote` leaves the candidate running and this removes it: the engine calls it
   * after the router's `finalize` has moved traffic back to the stable replicas, so no request is
   * sent to a candidate being deleted (a Service or route that selects it). Idempotent.
   */
  retirePromoted?(ctx: StepContext): Promise<void>;
  /** Removes the candidate's replicas, leaving the stable version untouched. Idempotent. */
  removeCandidate(ctx: StepContext): Promise<void>;
}

/** A target made of units (nodes, hosts, regions) changed one by one in waves. */
export interface FleetTarget {
  /** Every unit, in rollout order. Read-only. */
  units(ctx: StepContext): Promise<string[]>;
  /** The version a unit runs; `undefined` when nothing runs there. Read-only. */
  unitVersion(unit: string, ctx: StepContext): Promise<string | undefined>;
  /** Deploys `version` to one unit and waits until it starts. Idempotent. Throws `ProviderError`. */
  deployUnit(unit: string, version: string, ctx: StepContext): Promise<void>;
  /** Whether one unit serves healthily. Read-only. */
  unitHealth(unit: string, ctx: StepContext): Promise<HealthReport>;
  /**
   * Puts `previous` back on one unit, or removes the service from it when `previous` is undefined.
   * Idempotent; used by rollback.
   */
  revertUnit(unit: string, previous: string | undefined, ctx: StepContext): Promise<void>;
}
