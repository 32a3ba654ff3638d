import type { Stage } from '../definition/schema.js';
import type { CompensationOpName } from '../model/journal.js';
import type { DeployedState } from '../model/results.js';
import { InternalError } from '../errors.js';
import type { StepContext } from '../ports/step-context.js';
import type { Target } from '../ports/target.js';
import type { TrafficRouter } from '../ports/traffic-router.js';

/** The providers of the stage an undo runs in, made afresh in whichever process runs it. */
export interface UndoProviders {
  target(): Target;
  router(): TrafficRouter | undefined;
}

/**
 * Undo operations by name. A step that changes infrastructure records one of these, with JSON
 * params, before it acts; rollback (in this process or a resumed one) runs them in reverse order.
 * Each is idempotent, and `instructions` tells a human what to do when it keeps failing.
 */
export interface CompensationOp {
  run(stage: Stage, params: Record<string, unknown>, providers: UndoProviders, ctx: StepContext): Promise<void>;
  instructions(stage: Stage, params: Record<string, unknown>): string;
}

const where = (stage: Stage) => `stage ${stage.name} (environment ${stage.environment})`;

function candidates(stage: Stage, providers: UndoProviders) {
  const target = providers.target();
  // Only a strategy that ran a candidate records these undos, and validation requires the capability.
  if (!target.candidates) throw new InternalError(`the ${target.type} target of ${stage.name} cannot manage a candidate`);
  return target.candidates;
}

export const compensationOps = {
  'target.revert': {
    async run(stage, params, providers, ctx) {
      await providers.target().revert((params.previous as DeployedState | null) ?? undefined, ctx);
    },
    instructions(stage, params) {
      const previous = params.previous as DeployedState | null;
      if (previous) return `put ${previous.version} back on the ${stage.target.type} target of ${where(stage)}`;
      return params.unknownPrevious
        ? `undo ${String(params.version)} on ${where(stage)} by hand: the version before it is unknown (add a \`current\` command so rollgate can tell)`
        : `remove what ${where(stage)} deployed (${String(params.version)}): it was a first deploy`;
    },
  },
  'router.reset': {
    async run(stage, _params, providers, ctx) {
      await providers.router()?.setWeights({ canary: 0 }, ctx);
    },
    instructions: (stage) => `send all traffic of ${where(stage)} to the stable version (canary weight 0)`,
  },
  'candidate.restore-scale': {
    async run(stage, params, providers, ctx) {
      await candidates(stage, providers).scale({ stable: params.stable as number, candidate: 0 }, ctx);
    },
    instructions: (stage, params) => `scale the stable version of ${where(stage)} back to ${String(params.stable)} replicas and the new one to 0`,
  },
  'candidate.remove': {
    async run(stage, params, providers, ctx) {
      // Traffic has already left the candidate (router.reset ran first); keep it a little longer
      // so in-flight requests finish, then remove it.
      const delayMs = Number(params.delayMs ?? 0);
      // Waited once: a retry after a failed removal does not wait again.
      if (delayMs > 0 && !params.delayServed) {
        await ctx.clock.sleep(delayMs, ctx.signal);
        params.delayServed = true;
      }
      await candidates(stage, providers).removeCandidate(ctx);
      await providers.router()?.finalize(ctx);
    },
    instructions: (stage, params) => `remove ${String(params.version)} from ${where(stage)} and send all traffic to the stable version`,
  },
  'unit.revert': {
    async run(stage, params, providers, ctx) {
      const fleet = providers.target().fleet;
      if (!fleet) throw new InternalError(`the ${stage.target.type} target of ${stage.name} is not a fleet`);
      await fleet.revertUnit(params.unit as string, (params.previous as string | null) ?? undefined, ctx);
    },
    instructions: (stage, params) =>
      params.previous ? `put ${String(params.previous)} back on ${String(params.unit)} (${where(stage)})` : `remove the new version from ${String(params.unit)} (${where(stage)})`,
  },
} satisfies Record<CompensationOpName, CompensationOp>;

export type { CompensationOpName };
