import type { Stage } from '../definition/schema.js';
import type { DeployedState } from '../model/results.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { createTarget } from './wiring.js';

/**
 * Undo operations by name. A step that changes infrastructure records one of these, with JSON
 * params, before it acts; rollback (in this process or a resumed one) runs them in reverse order.
 * `manual` tells a human what to do when rollgate cannot undo a change itself.
 */
export interface CompensationOp {
  run(stage: Stage, params: Record<string, unknown>, deps: ProviderDeps, ctx: StepContext): Promise<void>;
  /** What to do by hand when the op keeps failing. */
  instructions(stage: Stage, params: Record<string, unknown>): string;
}

export const compensationOps = {
  'target.revert': {
    async run(stage, params, deps, ctx) {
      await createTarget(stage.target, deps).revert(params.previous as DeployedState | undefined, ctx);
    },
    instructions(stage, params) {
      const previous = params.previous as DeployedState | undefined;
      return previous
        ? `put ${previous.version} back on ${stage.target.type} target of stage ${stage.name} (environment ${stage.environment})`
        : `remove what stage ${stage.name} deployed (${String(params.version)}) from ${stage.environment}: it was a first deploy`;
    },
  },
} satisfies Record<string, CompensationOp>;

export type CompensationOpName = keyof typeof compensationOps;
