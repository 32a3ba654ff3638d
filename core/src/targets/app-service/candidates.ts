import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import type { CandidateTarget } from '../../ports/target.js';
import { percentOf } from './plan.js';
import type { Rollout } from './rollout.js';
import { slotHealth } from './warm-up.js';

/*
 * The candidates capability of the app-service target: the deployment slot runs the new version
 * beside production. A slot has no replicas of its own (its instances are the plan's), so the
 * "full scale" is 100 and a replica split the engine asks for is a share of production's traffic,
 * sent to the slot by a routing rule of "Testing in production" (rampUpRules): a canary's 25 % is
 * 25 % of requests, not an approximation. Promoting drops the rule, then swaps the slot into
 * production (never a swap while the rule sends requests to the slot); removing the candidate drops the rule and puts back what the slot ran before.
 */

/** The full scale of a slot: a split of the engine is read as percent of traffic. */
export const FULL = 100;

export function appServiceCandidates(rollout: Rollout, healthPath: string): CandidateTarget {
  return {
    fullScale: async () => FULL,

    async deployCandidate(version, _replicas, ctx) {
      const slots = await rollout.slots(ctx);
      const live = await rollout.live(slots);
      await rollout.putInSlot(slots, live, rollout.imageOf(version, live), ctx);
    },

    async scale(split, ctx) {
      await rollout.share(await rollout.slots(ctx), percentOf(split), ctx);
    },

    async candidateHealth(ctx) {
      const slots = await rollout.slots(ctx);
      return slotHealth(await slots.read(rollout.slot), healthPath, slots.what(rollout.slot), ctx);
    },

    async promote(ctx) {
      const slots = await rollout.slots(ctx);
      const candidate = rollout.kept().slotSet;
      if (candidate === undefined) throw new ProviderError(`app-service target: nothing to promote: rollgate has put no version in ${slots.what(rollout.slot)}`);
      const live = await rollout.live(slots);
      // Idempotent: a promotion already swapped (a resumed run) only drops the rule.
      if (live.production.image !== candidate) {
        if (live.slot.image !== candidate) {
          throw new ProviderError(
            `app-service target: ${slots.what(rollout.slot)} runs ${live.slot.image || 'no image'}, not the candidate ${candidate} rollgate put there: someone changed it during the rollout, so rollgate does not swap it into production; check the slot and run again`,
          );
        }
        await rollout.warm(slots, live.production.image, ctx);
        // The rule goes first: a swap restarts the slot's instances (its share would meet 503), and
        // afterwards the slot runs the old version; production serves all requests meanwhile.
        await rollout.share(slots, 0, ctx);
        await rollout.swapIn(slots, live, ctx);
      }
      await rollout.share(slots, 0, ctx);
    },

    async removeCandidate(ctx) {
      const slots = await rollout.slots(ctx);
      await rollout.share(slots, 0, ctx);
      const { slotFound, slotSet } = rollout.kept();
      const slot = await slots.read(rollout.slot);
      // Only the image rollgate set goes; an image someone put there since stays.
      if (slotFound === undefined || slotSet === undefined || slot.image !== slotSet || slotFound === slotSet) return;
      if (slotFound === '') {
        ctx.log.info(`app-service target: ${slots.what(rollout.slot)} ran no image before; it keeps ${slotSet}, which takes no traffic`);
        return;
      }
      await restoreSlot(rollout, slotFound, slotSet, ctx);
    },
  };
}

/** Puts back the image the slot ran before rollgate's candidate (no wait: the slot takes no traffic). */
async function restoreSlot(rollout: Rollout, image: string, candidate: string, ctx: StepContext): Promise<void> {
  const slots = await rollout.slots(ctx);
  await rollout.keep({ slotSet: image });
  await slots.setImage(rollout.slot, image, ctx);
  ctx.recordChange({ object: slots.object(rollout.slot), field: 'image', before: candidate, after: image });
}
