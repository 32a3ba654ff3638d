import { z } from 'zod';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { Target } from '../ports/target.js';
import type { StepContext } from '../ports/step-context.js';

export const type = 'sim';

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
 * Deploys to a service of the environment's simulated world. A deploy takes the version's
 * `startup` on the clock; a revert takes the restored version's. Failures come from the world's
 * injected `failures` (api-errors, partition, compensation-fails on revert).
 */
export function create(config: Config, deps: ProviderDeps): Target {
  const service = (ctx: StepContext) => config.service ?? ctx.stage;
  return {
    type,
    async current(ctx) {
      const world = deps.sim();
      const name = service(ctx);
      world.guard('current', name);
      const svc = world.service(name);
      return svc && { version: svc.version, details: { replicas: svc.replicas } };
    },
    async deploy(version, ctx) {
      const world = deps.sim();
      const name = service(ctx);
      world.guard('deploy', name);
      const { changes, waitMs } = world.deploy(name, version, config.replicas);
      for (const change of changes) ctx.recordChange(change);
      if (waitMs > 0) {
        ctx.log.info(`sim: ${name} ${version} starting (${Math.ceil(waitMs / 1000)}s)`);
        await ctx.clock.sleep(waitMs, ctx.signal);
      }
    },
    async health(ctx) {
      const world = deps.sim();
      const name = service(ctx);
      world.guard('health', name);
      return world.health(name);
    },
    async revert(previous, ctx) {
      const world = deps.sim();
      const name = service(ctx);
      world.guard('revert', name);
      // The journal stores "no previous version" as null.
      const replicas = previous?.details?.['replicas'];
      const target = previous ? { version: previous.version, ...(typeof replicas === 'number' ? { replicas } : {}) } : undefined;
      const { changes, waitMs } = world.revert(name, target);
      for (const change of changes) ctx.recordChange(change);
      if (waitMs > 0) await ctx.clock.sleep(waitMs, ctx.signal);
    },
  };
}
