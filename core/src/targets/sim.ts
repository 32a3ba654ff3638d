import { z } from 'zod';
import { worldOf } from '../sim/access.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { CandidateTarget, FleetTarget, Target } from '../ports/target.js';
import type { SimOperation, SimWorld, Transition } from '../sim/world.js';

export const type = 'sim';

/** A second version beside the first (canary, blue-green), and nodes to roll in waves (progressive). */
export const capabilities = ['candidates', 'fleet'] as const;
/** Everything happens in the simulated world, on the run's clock. */
export const virtualTime = true;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    service: z.string().min(1).optional().describe('Service name in the simulated cluster (default: the stage name)'),
    replicas: z.number().int().positive().optional().describe('Replicas of the service (default: one per node)'),
  })
  .describe('A service in the simulated infrastructure (see `sim`)');
export type SimTargetConfig = z.infer<typeof configSchema>;
type Config = SimTargetConfig;

/**
 * Deploys to a service of the environment's simulated world, in three ways: the whole service at
 * once (`deploy`, the `direct` strategy), a candidate beside the stable version (`candidates`:
 * canary and blue-green), or node by node (`fleet`: progressive). Every call that starts replicas
 * waits their version's `startup` on the clock, honouring the step's signal; the change is made
 * and recorded first, so a cancelled wait still leaves something revert can undo. Failures come
 * from the world's injected `failures` (api-errors, partition, compensation-fails on the undo
 * operations).
 */
export function create(config: Config, deps: ProviderDeps): Target {
  const service = (ctx: StepContext) => config.service ?? ctx.stage;
  /** The world and service of a call that has passed the injected failures of `operation`. */
  const open = (ctx: StepContext, operation: SimOperation, unit?: string) => {
    const world = worldOf(deps);
    const name = service(ctx);
    world.guard(operation, unit === undefined ? name : `${name} on ${unit}`);
    return { world, name };
  };
  /** Applies a change to the world, records it and waits until its replicas are ready. */
  const apply = async (ctx: StepContext, operation: SimOperation, change: (world: SimWorld, name: string) => Transition, what?: string, unit?: string) => {
    const { world, name } = open(ctx, operation, unit);
    const { changes, waitMs } = change(world, name);
    for (const c of changes) ctx.recordChange(c);
    if (waitMs <= 0) return;
    if (what !== undefined) ctx.log.info(`sim: ${name} ${what} starting (${Math.ceil(waitMs / 1000)}s)`);
    // Wall-clock timers may fire a millisecond early: wait until the replicas really are ready.
    const readyAt = ctx.clock.now() + waitMs;
    do await ctx.clock.sleep(Math.max(1, readyAt - ctx.clock.now()), ctx.signal);
    while (ctx.clock.now() < readyAt);
  };

  const candidates: CandidateTarget = {
    async fullScale(ctx) {
      const { world, name } = open(ctx, 'current');
      return world.fullScale(name) ?? config.replicas ?? world.config.nodes;
    },
    deployCandidate: (version, replicas, ctx) =>
      apply(ctx, 'deploy-candidate', (w, name) => w.deployCandidate(name, version, replicas, config.replicas), `candidate ${version}`),
    scale: (split, ctx) => apply(ctx, 'scale', (w, name) => w.scale(name, split), 'scale-up'),
    async candidateHealth(ctx) {
      const { world, name } = open(ctx, 'candidate-health');
      return world.candidateHealth(name);
    },
    promote: (ctx) => apply(ctx, 'promote', (w, name) => w.promote(name), 'promoted version'),
    removeCandidate: (ctx) => apply(ctx, 'remove-candidate', (w, name) => w.removeCandidate(name), 'stable scale-up'),
  };

  // Per-unit calls log nothing: a 10,000-node rollout would drown the run's output; the changes say it all.
  const fleet: FleetTarget = {
    async units(ctx) {
      return [...open(ctx, 'current').world.units()];
    },
    async unitVersion(unit, ctx) {
      const { world, name } = open(ctx, 'current', unit);
      return world.unitVersion(name, unit);
    },
    deployUnit: (unit, version, ctx) => apply(ctx, 'deploy-unit', (w, name) => w.setUnit(name, unit, version), undefined, unit),
    async unitHealth(unit, ctx) {
      const { world, name } = open(ctx, 'unit-health', unit);
      return world.unitHealth(name, unit);
    },
    revertUnit: (unit, previous, ctx) => apply(ctx, 'revert-unit', (w, name) => w.setUnit(name, unit, previous ?? null), undefined, unit),
  };

  return {
    type,
    candidates,
    fleet,
    async current(ctx) {
      const { world, name } = open(ctx, 'current');
      const svc = world.service(name);
      // A first deploy's candidate running alone is not a stable version yet.
      if (!svc || svc.version === null) return undefined;
      const candidate = svc.candidate && { version: svc.candidate.version, replicas: svc.candidate.replicas };
      return { version: svc.version, details: { replicas: svc.replicas, ...(candidate ? { candidate } : {}) } };
    },
    deploy: (version, ctx) => apply(ctx, 'deploy', (w, name) => w.deploy(name, version, config.replicas), version),
    async health(ctx) {
      const { world, name } = open(ctx, 'health');
      return world.health(name);
    },
    revert(previous, ctx) {
      // The journal stores "no previous version" as null.
      const replicas = previous?.details?.['replicas'];
      const target = previous ? { version: previous.version, ...(typeof replicas === 'number' ? { replicas } : {}) } : undefined;
      return apply(ctx, 'revert', (w, name) => w.revert(name, target));
    },
  };
}
