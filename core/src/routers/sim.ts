import { z } from 'zod';
import { worldOf } from '../sim/access.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { targetService } from '../metrics/sim.js';

export const type = 'sim';

/** Everything happens in the simulated world, on the run's clock. */
export const virtualTime = true;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    service: z.string().min(1).optional().describe("Service in the simulated cluster whose traffic is split (default: the service of the stage's sim target, else the stage name)"),
  })
  .describe('Splits the traffic of a simulated service between its stable and new version (see `sim`)');
export type SimRouterConfig = z.infer<typeof configSchema>;
type Config = SimRouterConfig;

/** What the router found on first touch: the split someone else had opened, or none. */
interface Found {
  found: number | null;
}

/**
 * Traffic weights of a service in the environment's simulated world: `canary` % of the requests
 * go to the candidate the `sim` target runs beside the stable version, which drives what the `sim`
 * metrics measure. `finalize` puts back the route it found on first touch (no split: everything to
 * the stable version); it never promotes (the target's `promote` does), so it is safe in both a
 * rollback and a completed rollout.
 */
export function create(config: Config, deps: ProviderDeps): TrafficRouter {
  // By default the router splits the traffic of the service the stage's sim target deploys.
  const service = (ctx: StepContext) => config.service ?? targetService(deps) ?? ctx.stage;
  return {
    type,
    async setWeights(weights, ctx) {
      const world = worldOf(deps);
      const name = service(ctx);
      world.guard('set-weight', name);
      // The route as rollgate found it, kept before the first change so finalize can restore it.
      if (deps.state.get() === undefined) {
        const svc = world.service(name);
        await deps.state.put({ found: svc?.route === 'split' ? svc.weight : null } satisfies Found);
      }
      for (const change of world.setWeight(name, weights.canary)) ctx.recordChange(change);
    },
    async getWeights(ctx) {
      const world = worldOf(deps);
      const name = service(ctx);
      world.guard('get-weight', name);
      return { canary: world.weight(name) };
    },
    async finalize(ctx) {
      const world = worldOf(deps);
      const name = service(ctx);
      world.guard('finalize', name);
      // Never touched: the routing is as it was found, whoever opened it.
      const kept = deps.state.get() as Found | undefined;
      if (kept === undefined) return;
      const found = kept.found;
      const changes = found === null ? world.finalize(name) : world.setWeight(name, found);
      for (const change of changes) ctx.recordChange(change);
    },
  };
}
