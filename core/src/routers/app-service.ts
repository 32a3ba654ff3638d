import { z } from 'zod';
import { armClient } from '../azure/arm.js';
import { ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { shareOf, withShare } from '../targets/app-service/plan.js';
import { PRODUCTION, Slots } from '../targets/app-service/slots.js';

/*
 * The `app-service` traffic router: production's routing rule of "Testing in production"
 * (`experiments.rampUpRules`, one rule named after the slot, as the portal names it) sends a share of production's requests to
 * the deployment slot. What rollgate's `blue-green` strategy (and a canary that wants its router
 * named) needs on App Service: the switch to 100 % is the rule, the promotion is the target's swap
 * (which drops the rule first), and finalize puts rollgate's share back as found (none) when a rule
 * is still there (a rollback). Rules of others are never touched.
 */
export const type = 'app-service';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    app: z.string().min(1).optional().describe("The web app (default: the stage's app-service target's app)"),
    slot: z.string().min(1).optional().describe("The slot that takes the share (default: the target's slot, else staging)"),
    resourceGroup: z.string().min(1).optional().describe("The web app's resource group (default: the target's, else azure.resourceGroup)"),
  })
  .describe("Splits a web app's production traffic to a deployment slot by a routing rule (Testing in production); finalize drops rollgate's rule");
export type AppServiceRouterConfig = z.output<typeof configSchema>;

/** rollgate's share as found on first touch (0: it had no rule). */
interface Kept {
  found: number;
}

export function create(config: AppServiceRouterConfig, deps: ProviderDeps): TrafficRouter {
  const fromTarget = deps.target?.type === 'app-service' ? deps.target : undefined;
  const app = config.app ?? (fromTarget?.app as string | undefined);
  const slot = config.slot ?? (fromTarget?.slot as string | undefined) ?? 'staging';
  const resourceGroup = config.resourceGroup ?? (fromTarget?.resourceGroup as string | undefined);
  const client = armClient(deps, 'app-service router');
  const kept = () => deps.state.get() as Kept | undefined;

  const slots = async (ctx: StepContext): Promise<Slots> => {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError('app-service router: cancelled');
    if (!app) throw new ProviderError('app-service router: no web app: set app on the router, or use it in a stage whose target is app-service');
    return new Slots(await client(ctx), { app, slot, resourceGroup, intervalMs: 5000, timeoutMs: 600_000 });
  };

  /** Sets rollgate's share; keeps what it found before its first change. */
  async function share(percent: number, ctx: StepContext): Promise<void> {
    const s = await slots(ctx);
    const production = await s.read(PRODUCTION);
    const before = shareOf(production.rules, slot);
    if (before === percent) return;
    if (!kept()) await deps.state.put({ found: before } satisfies Kept);
    const host = percent > 0 ? (await s.read(slot)).hostName : '';
    await s.setRules(withShare(production.rules, slot, host, percent), ctx);
    ctx.recordChange({ object: s.object(PRODUCTION), field: `traffic to ${slot}`, before: `${before}%`, after: `${percent}%` });
  }

  return {
    type,
    async setWeights(weights, ctx) {
      if (!(weights.canary >= 0 && weights.canary <= 100)) throw new ProviderError(`app-service router: a share of ${weights.canary} % is not between 0 and 100`);
      await share(Math.round(weights.canary), ctx);
    },
    async getWeights(ctx) {
      return { canary: shareOf((await (await slots(ctx)).read(PRODUCTION)).rules, slot) };
    },
    async finalize(ctx) {
      // The target's promotion drops the rule before it swaps (the slot restarts, then runs the old
      // version): with no rule left there is nothing to put back.
      if (shareOf((await (await slots(ctx)).read(PRODUCTION)).rules, slot) === 0) return;
      await share(kept()?.found ?? 0, ctx);
    },
  };
}
