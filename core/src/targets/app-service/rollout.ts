import type { Arm } from '../../azure/arm.js';
import { ProviderError } from '../../errors.js';
import type { ProviderState } from '../../ports/provider-state.js';
import type { StepContext } from '../../ports/step-context.js';
import { imageFor, repositoryOf, shareOf, versionOfImage, withShare } from './plan.js';
import { type AppRef, type PendingSwap, PRODUCTION, Slots, type SlotView } from './slots.js';
import { warmUp } from './warm-up.js';

/*
 * The moves the app-service target and its candidates share, each keeping in the journal what an
 * undo needs before it acts: putting an image in the slot (what the slot ran before), warming the
 * slot up, swapping it into production (which image rollgate swapped in, and the swap's operation
 * while it runs, so a later process follows a swap a crashed one began before it reads the slots),
 * and rollgate's share of production's traffic through a routing rule.
 */

/** What the app-service target keeps in the run journal. */
export interface Kept {
  /** The image each version ran as in production before rollgate swapped: what a revert to it puts back. */
  images?: Record<string, string>;
  /** Every image rollgate swapped into production: a revert swaps out only those. */
  wrote?: string[];
  /** The image the slot ran before rollgate put its candidate there ('' for none). */
  slotFound?: string;
  /** The image rollgate last set in the slot: the candidate. */
  slotSet?: string;
  /** A swap begun and not yet seen to its end: its status URL when ARM gave one, and the images it trades. */
  swapping?: PendingSwap & { incoming?: string; outgoing?: string };
}

export interface RolloutConfig extends Omit<AppRef, 'intervalMs' | 'timeoutMs'> {
  image?: string | undefined;
  healthPath: string;
  interval: number;
  timeout: number;
}

export class Rollout {
  constructor(
    private readonly config: RolloutConfig,
    private readonly state: ProviderState,
    private readonly client: (ctx: StepContext) => Promise<Arm>,
  ) {}

  kept(): Kept {
    return (this.state.get() as Kept | undefined) ?? {};
  }

  keep(more: Kept): Promise<void> {
    return this.state.put({ ...this.kept(), ...more } satisfies Kept);
  }

  get slot(): string {
    return this.config.slot;
  }

  /** The slots of the app, after any swap a crashed process began has ended. */
  async slots(ctx: StepContext): Promise<Slots> {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError('app-service target: cancelled');
    const slots = new Slots(await this.client(ctx), { ...this.config, intervalMs: this.config.interval, timeoutMs: this.config.timeout });
    const pending = this.kept().swapping;
    if (pending) {
      ctx.log.info(`app-service target: a swap of ${slots.what(this.slot)} begun earlier may still run: waiting for it to end before reading the slots`);
      await slots.finishSwap(pending, pending.incoming, ctx);
      const { swapping: _, ...rest } = this.kept();
      await this.state.put(rest satisfies Kept);
      // The process that began it died before it could report it: reported now, once it is seen done.
      const { incoming, outgoing } = pending;
      if (incoming !== undefined && (await slots.read(PRODUCTION)).image === incoming && incoming !== outgoing) this.recordSwap(slots, incoming, outgoing ?? '', ctx);
    }
    return slots;
  }

  /** Production and the slot, read now. */
  async live(slots: Slots): Promise<{ production: SlotView; slot: SlotView }> {
    const production = await slots.read(PRODUCTION);
    return { production, slot: await slots.read(this.slot) };
  }

  /** The image `version` means: the target's repository, else the one production (or the slot) runs. */
  imageOf(version: string, live: { production: SlotView; slot: SlotView }): string {
    const repository = this.config.image ?? repositoryOf(live.production.image || live.slot.image);
    if (!repository && !version.includes('/') && !version.includes(':')) {
      throw new ProviderError(
        `app-service target: web app ${this.config.app} runs no container image (its linuxFxVersion is not DOCKER|…), so rollgate cannot tell which repository ${version} is a tag of; set image on the target (image: myregistry.azurecr.io/web)`,
      );
    }
    return imageFor(version, repository);
  }

  /** Sets `image` in the slot (keeping what it ran first), restarts it and waits until it serves. */
  async putInSlot(slots: Slots, live: { production: SlotView; slot: SlotView }, image: string, ctx: StepContext): Promise<void> {
    if (live.slot.image !== image) {
      // What the slot ran before, unless it runs a candidate rollgate set there itself (a retry).
      const kept = this.kept();
      const ours = kept.slotSet !== undefined && live.slot.image === kept.slotSet;
      await this.keep({ ...(ours && kept.slotFound !== undefined ? {} : { slotFound: live.slot.image }), slotSet: image });
      await slots.setImage(this.slot, image, ctx);
      ctx.recordChange({ object: slots.object(this.slot), field: 'image', before: live.slot.image || null, after: image });
      await slots.restart(this.slot, ctx);
      ctx.log.info(`app-service target: ${slots.what(this.slot)} now runs ${image} and restarts; warming it up on ${this.config.healthPath}`);
    } else if (this.kept().slotSet !== image) {
      await this.keep({ slotSet: image });
    }
    await this.warm(slots, live.production.image, ctx);
  }

  /** Waits until the slot answers healthily: before any swap, so production never gets a slot that does not serve. */
  async warm(slots: Slots, production: string, ctx: StepContext): Promise<void> {
    await warmUp(() => slots.read(this.slot), {
      healthPath: this.config.healthPath,
      intervalMs: this.config.interval,
      timeoutMs: this.config.timeout,
      what: slots.what(this.slot),
      then: `nothing was swapped: production still runs ${production || 'no image'}; check the slot's log stream (az webapp log tail --name ${this.config.app} --slot ${this.slot})`,
    }, ctx);
  }

  /**
   * Swaps the slot into production: production then runs what the slot ran, and the slot keeps
   * what production ran (the quick way back). Kept before: which image goes in, what it replaces.
   */
  async swapIn(slots: Slots, live: { production: SlotView; slot: SlotView }, ctx: StepContext): Promise<void> {
    const incoming = live.slot.image;
    const kept = this.kept();
    const wrote = kept.wrote ?? [];
    const images = kept.images ?? {};
    const outgoing = live.production.image;
    await this.keep({
      wrote: wrote.includes(incoming) ? wrote : [...wrote, incoming],
      images: outgoing && images[versionOfImage(outgoing)] === undefined ? { ...images, [versionOfImage(outgoing)]: outgoing } : images,
      swapping: { incoming, outgoing },
    });
    ctx.log.info(`app-service target: swapping ${slots.what(this.slot)} (${incoming}) into production (${outgoing || 'no image'})`);
    await slots.swap(ctx, incoming, (operation) => this.keep({ swapping: { ...operation, incoming, outgoing } }));
    const { swapping: _, ...rest } = this.kept();
    await this.state.put(rest satisfies Kept);
    this.recordSwap(slots, incoming, outgoing, ctx);
  }

  private recordSwap(slots: Slots, incoming: string, outgoing: string, ctx: StepContext): void {
    ctx.recordChange({ object: slots.object(PRODUCTION), field: 'image', before: outgoing || null, after: incoming });
    ctx.recordChange({ object: slots.object(this.slot), field: 'image', before: incoming, after: outgoing || null });
  }

  /** Sets rollgate's share of production's traffic to the slot (0 removes its routing rule). */
  async share(slots: Slots, percent: number, ctx: StepContext): Promise<void> {
    const production = await slots.read(PRODUCTION);
    const before = shareOf(production.rules, this.slot);
    if (before === percent) return;
    const host = percent > 0 ? (await slots.read(this.slot)).hostName : '';
    await slots.setRules(withShare(production.rules, this.slot, host, percent), ctx);
    ctx.recordChange({ object: slots.object(PRODUCTION), field: `traffic to ${this.slot}`, before: `${before}%`, after: `${percent}%` });
  }
}
