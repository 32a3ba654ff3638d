import { z } from 'zod';
import { armClient } from '../azure/arm.js';
import { duration } from '../config/fields.js';
import { ProviderError } from '../errors.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { Target } from '../ports/target.js';
import { appServiceCandidates } from './app-service/candidates.js';
import { deployPlan, revertPlan, versionOfImage } from './app-service/plan.js';
import { Rollout } from './app-service/rollout.js';
import { PRODUCTION } from './app-service/slots.js';
import { slotHealth } from './app-service/warm-up.js';

/*
 * Azure App Service with deployment slots. A deploy puts the version's container image in a slot
 * (`staging`), restarts it, waits until the slot answers healthily on `healthPath` (the warm-up),
 * then swaps the slot into production; the slot keeps the previous version, so a revert is a swap
 * back, refused when production runs an image rollgate did not swap in (someone else deployed).
 *
 * Strategies. direct: the deploy above. canary: the slot is the candidate, and the engine's
 * replica split is read as a traffic share (the full scale of a slot is 100) set through the
 * routing rules of "Testing in production" (`experiments.rampUpRules`), so each setWeight sends
 * that percent of production's requests to the slot; the promotion is the swap. No router is
 * needed. blue-green: rollgate's blue-green strategy requires a router by validation, so it takes
 * the `app-service` router (routers/app-service.ts: the same routing rule as a TrafficRouter; the
 * switch is the rule at 100 %, the promotion the swap).
 */
export const type = 'app-service';

/** The slot runs the candidate, and its share of production's traffic is set by routing rules. */
export const capabilities = ['candidates'] as const;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    app: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,58}$/, 'expected a web app name (letters, digits and -)')
      .describe('Name of the web app (Microsoft.Web/sites) whose slot rollgate deploys to and swaps'),
    slot: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'expected a deployment slot name')
      .refine((s) => s.toLowerCase() !== PRODUCTION, 'the slot is where the new version warms up before the swap: name a slot other than production')
      .default('staging')
      .describe('The deployment slot the new version is put in, warmed up and swapped from (it must exist)'),
    resourceGroup: z.string().min(1).max(90).optional().describe("The web app's resource group (default: the environment's azure.resourceGroup)"),
    image: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The image repository; a version becomes its tag (`myregistry.azurecr.io/web` + `1.4.2`), or its digest when it starts with sha256:. Default: the repository production runs. A version holding / or : is a whole image reference',
      ),
    healthPath: z.string().startsWith('/').default('/').describe("The path the slot must answer 2xx on (over its own host name) before it is swapped in, and production's health"),
    interval: duration('How often the slot is asked while it warms up, and a swap polled').prefault('5s'),
    timeout: duration('How long a warm-up or a swap may take before rollgate gives up').prefault('10m'),
  })
  .describe(
    'An Azure App Service web app with a deployment slot: deploy puts the image in the slot, warms it up and swaps it into production; revert swaps back, only over an image rollgate swapped in',
  );
export type AppServiceTargetConfig = z.output<typeof configSchema>;

export function create(config: AppServiceTargetConfig, deps: ProviderDeps): Target {
  const rollout = new Rollout(config, deps.state, armClient(deps, 'app-service target'));
  const target: Target = {
    type,
    async current(ctx) {
      const slots = await rollout.slots(ctx);
      const production = await slots.read(PRODUCTION);
      if (!production.image) return undefined;
      return { version: versionOfImage(production.image), details: { image: production.image, app: config.app, slot: PRODUCTION } };
    },

    async deploy(version, ctx) {
      const slots = await rollout.slots(ctx);
      const live = await rollout.live(slots);
      const image = rollout.imageOf(version, live);
      const plan = deployPlan({ production: live.production.image, slot: live.slot.image }, image);
      if (plan.action === 'none') return;
      await rollout.putInSlot(slots, live, image, ctx);
      await rollout.swapIn(slots, await rollout.live(slots), ctx);
    },

    async health(ctx) {
      const slots = await rollout.slots(ctx);
      return slotHealth(await slots.read(PRODUCTION), config.healthPath, slots.what(PRODUCTION), ctx);
    },

    async revert(previous, ctx) {
      const slots = await rollout.slots(ctx);
      const live = await rollout.live(slots);
      const kept = rollout.kept();
      const wrote = kept.wrote ?? [];
      // A first deploy: production ran no image; only an image rollgate swapped in is swapped out.
      const back = previous === undefined ? '' : (kept.images?.[previous.version] ?? (previous.details?.image as string | undefined) ?? rollout.imageOf(previous.version, live));
      const plan = revertPlan({ production: live.production.image, slot: live.slot.image }, back, wrote);
      if (plan.action === 'none') return;
      if (plan.action === 'refuse') {
        if (previous === undefined) return;
        throw new ProviderError(
          `app-service target: ${slots.what(PRODUCTION)} runs ${plan.live || 'no image'}, which rollgate did not swap in (it swapped in ${wrote.join(', ') || 'nothing'}): someone else deployed it since, so rollgate does not swap ${back} back over it; check it, and swap by hand (az webapp deployment slot swap --name ${config.app} --slot ${config.slot}) if it should go`,
        );
      }
      if (plan.action === 'set-slot') {
        if (!plan.image) {
          throw new ProviderError(
            `app-service target: ${slots.what(PRODUCTION)} ran no image before rollgate swapped ${live.production.image} in, and ${slots.what(config.slot)} no longer holds that empty state: rollgate cannot put "nothing" back; stop the app or deploy the version it should run`,
          );
        }
        await rollout.putInSlot(slots, live, plan.image, ctx);
      }
      await rollout.swapIn(slots, await rollout.live(slots), ctx);
    },
  };
  return Object.assign(target, { candidates: appServiceCandidates(rollout, config.healthPath) });
}
