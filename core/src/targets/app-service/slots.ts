import type { RestResponse } from '../../cloud/rest.js';
import { CloudError } from '../../cloud/retrying.js';
import { type Arm, isNotFound } from '../../azure/arm.js';
import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import { formatLimit } from '../../util/command-runner.js';
import { fxOfImage, imageOfFx, type RampUpRule } from './plan.js';

/*
 * What the app-service target does to a web app over Azure Resource Manager (Microsoft.Web,
 * api-version 2023-12-01): read a slot and its web config, set the container image of a slot
 * (`siteConfig.linuxFxVersion: DOCKER|image`), restart it, swap it with production (a
 * long-running operation followed to its end), and set production's routing rules. A write that
 * meets 409 Conflict because a swap is in progress waits for it, for at most the target's timeout:
 * a swap a crashed run began ends by itself, and what it leaves is read afresh afterwards.
 */

export const API_VERSION = '2023-12-01';
export const PRODUCTION = 'production';

/** Where a web app is and how long its waits may take. */
export interface AppRef {
  app: string;
  slot: string;
  resourceGroup?: string | undefined;
  intervalMs: number;
  timeoutMs: number;
}

/** A slot as read: its run state, host name, image and (production only) routing rules. */
export interface SlotView {
  state: string;
  hostName: string;
  image: string;
  rules: RampUpRule[];
}

interface SiteBody {
  properties?: { state?: string; defaultHostName?: string };
}
interface ConfigBody {
  properties?: { linuxFxVersion?: string | null; windowsFxVersion?: string | null; experiments?: { rampUpRules?: RampUpRule[] | null } | null };
}

export class Slots {
  constructor(
    private readonly arm: Arm,
    private readonly ref: AppRef,
  ) {}

  /** The site's ARM path; the resource group of the target, else the workflow's `azure.resourceGroup`. */
  get sitePath(): string {
    return `${this.arm.scope(this.ref.resourceGroup)}/providers/Microsoft.Web/sites/${encodeURIComponent(this.ref.app)}`;
  }

  /** How a slot is named in messages: `slot staging of web app web` / `production of web app web`. */
  what(slot: string): string {
    return slot === PRODUCTION ? `the production slot of web app ${this.ref.app}` : `slot ${slot} of web app ${this.ref.app}`;
  }

  /** The object of a recorded change. */
  object(slot: string): string {
    const group = decodeURIComponent(this.arm.scope(this.ref.resourceGroup).split('/')[4] ?? '');
    return `appservice/${group}/${this.ref.app}/${slot}`;
  }

  private path(slot: string): string {
    return slot === PRODUCTION ? this.sitePath : `${this.sitePath}/slots/${encodeURIComponent(slot)}`;
  }

  /** Reads a slot and its web config; a missing app or slot says what to create. */
  async read(slot: string): Promise<SlotView> {
    try {
      const site = await this.arm.call<SiteBody>({ path: this.path(slot), apiVersion: API_VERSION, what: `read ${this.what(slot)}` });
      const config = await this.arm.call<ConfigBody>({ path: `${this.path(slot)}/config/web`, apiVersion: API_VERSION, what: `read the configuration of ${this.what(slot)}` });
      this.singleContainer(slot, config.body?.properties ?? {});
      return {
        state: site.body?.properties?.state ?? 'Unknown',
        hostName: site.body?.properties?.defaultHostName ?? '',
        image: imageOfFx(config.body?.properties?.linuxFxVersion),
        rules: config.body?.properties?.experiments?.rampUpRules ?? [],
      };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const hint =
        slot === PRODUCTION
          ? `check the app name and resource group (the target's resourceGroup, else azure.resourceGroup), and that the identity may read it`
          : `create it first (az webapp deployment slot create --name ${this.ref.app} --slot ${slot}), or name an existing slot in the target's slot field`;
      throw new ProviderError(`app-service target: ${this.what(slot)} does not exist (HTTP 404): ${hint}`, { cause: err });
    }
  }

  /**
   * Refuses a slot that is not a single Linux container (`DOCKER|image` or nothing yet): writing
   * `DOCKER|…` over `SITECONTAINERS` (sidecars), `COMPOSE|…` or a code stack would convert the
   * slot and drop its other containers; a Windows container app keeps its image elsewhere.
   */
  private singleContainer(slot: string, config: { linuxFxVersion?: string | null; windowsFxVersion?: string | null }): void {
    const how = `deploy it another way, or use rollgate with a single-container Linux app (az webapp config container show --name ${this.ref.app}${slot === PRODUCTION ? '' : ` --slot ${slot}`})`;
    if (config.windowsFxVersion) {
      throw new ProviderError(`app-service target: ${this.what(slot)} is a Windows container app (windowsFxVersion is set): rollgate sets the image of Linux container apps only (linuxFxVersion DOCKER|…), so it leaves it alone; ${how}`);
    }
    const fx = config.linuxFxVersion ?? '';
    if (fx && !fx.toUpperCase().startsWith('DOCKER|')) {
      const mode = fx.split('|')[0] ?? fx;
      const kind = /^SITECONTAINERS$/i.test(mode) ? 'sidecar containers (SITECONTAINERS)' : /^COMPOSE$/i.test(mode) ? 'a Docker Compose app (COMPOSE|…)' : `${mode} (linuxFxVersion ${mode}|…)`;
      throw new ProviderError(
        `app-service target: ${this.what(slot)} runs ${kind}, not one container image (DOCKER|…): setting an image would convert it and drop its other containers, so rollgate leaves it alone; ${how}`,
      );
    }
  }

  /** Sets the container image of a slot (App Service restarts it to pull the image), and reads it back. */
  async setImage(slot: string, image: string, ctx: StepContext): Promise<void> {
    await this.quiet(`set the image of ${this.what(slot)}`, ctx, () =>
      this.arm.call({ method: 'PATCH', path: `${this.path(slot)}/config/web`, apiVersion: API_VERSION, body: { properties: { linuxFxVersion: fxOfImage(image) } }, what: `set the image of ${this.what(slot)} to ${image}` }),
    );
    const back = await this.read(slot);
    if (back.image !== image) {
      throw new ProviderError(
        `app-service target: set the image of ${this.what(slot)} to ${image}, but its configuration reads back ${back.image || 'no image'}: something else sets the slot's container (a deployment center, a pipeline or a policy?); check it (az webapp config container show --name ${this.ref.app} --slot ${slot}) and run again`,
      );
    }
  }

  /** Restarts a slot: it starts again from its configuration and must warm up before it serves. */
  restart(slot: string, ctx: StepContext): Promise<unknown> {
    return this.quiet(`restart ${this.what(slot)}`, ctx, () =>
      this.arm.call({ method: 'POST', path: `${this.path(slot)}/restart`, apiVersion: API_VERSION, query: { softRestart: 'false', synchronous: 'false' }, what: `restart ${this.what(slot)}` }),
    );
  }

  /** Sets production's routing rules (Testing in production). */
  setRules(rules: RampUpRule[], ctx: StepContext): Promise<unknown> {
    return this.quiet(`set the routing rules of ${this.what(PRODUCTION)}`, ctx, () =>
      this.arm.call({ method: 'PATCH', path: `${this.path(PRODUCTION)}/config/web`, apiVersion: API_VERSION, body: { properties: { experiments: { rampUpRules: rules } } }, what: `set the routing rules of ${this.what(PRODUCTION)}` }),
    );
  }

  /**
   * Begins swapping the target's slot with production (`preserveVnet`, as the portal does) and
   * returns the operation's first answer; `keep` receives its status URL before it is followed.
   */
  async swap(ctx: StepContext, incoming: string, keep: (operation: PendingSwap) => Promise<void>): Promise<void> {
    const what = `swap ${this.what(this.ref.slot)} into production`;
    const first = await this.quiet(what, ctx, () =>
      this.arm.call<unknown>({ method: 'POST', path: `${this.path(this.ref.slot)}/slotsswap`, apiVersion: API_VERSION, body: { targetSlot: PRODUCTION, preserveVnet: true }, what }),
    );
    const operation = operationUrl(first);
    await keep(operation);
    // No status URL to follow: the swap's end is seen on the slots themselves.
    if (!operation.url) return this.swapEnded(incoming, what, ctx);
    await this.arm.poll(first, { what, intervalMs: this.ref.intervalMs });
  }

  /**
   * Follows a swap a previous process began to its end: by its status URL when it was kept, else
   * (the process died before ARM answered, or ARM gave none) by the slots themselves.
   */
  async finishSwap(operation: PendingSwap, incoming: string | undefined, ctx: StepContext): Promise<void> {
    const what = `swap ${this.what(this.ref.slot)} into production (begun by an earlier run)`;
    if (!operation.url || !operation.header) return this.swapEnded(incoming, what, ctx);
    const header = operation.header;
    const pending: RestResponse<unknown> = { status: 202, body: undefined, headers: { get: (name) => (name.toLowerCase() === header ? (operation.url as string) : null) } };
    try {
      await this.arm.poll(pending, { what, intervalMs: this.ref.intervalMs });
    } catch (err) {
      // An operation ARM no longer knows has long ended; what it left is read afresh.
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Waits, with no status URL, until a swap has ended: production runs `incoming`, or a write that
   * changes nothing (an empty PATCH of the slot's config) is not refused with 409 Conflict, so no
   * swap is in progress (it ended, or never began); within the timeout.
   */
  private async swapEnded(incoming: string | undefined, what: string, ctx: StepContext): Promise<void> {
    const until = ctx.clock.now() + this.ref.timeoutMs;
    for (;;) {
      if (incoming && (await this.read(PRODUCTION)).image === incoming) return;
      try {
        await this.arm.call({ method: 'PATCH', path: `${this.path(this.ref.slot)}/config/web`, apiVersion: API_VERSION, body: { properties: {} }, what: `see whether a swap of ${this.what(this.ref.slot)} is in progress` });
        return;
      } catch (err) {
        if (!(err instanceof CloudError) || err.status !== 409) throw err;
      }
      if (ctx.clock.now() >= until) {
        throw new ProviderError(
          `app-service target: ${what}: no status URL to follow, and web app ${this.ref.app} stayed busy (409 Conflict) for ${formatLimit(this.ref.timeoutMs)} without production running ${incoming || 'the slot\'s image'}; wait for the swap to end (az webapp deployment slot list --name ${this.ref.app}) and run again`,
          { retryable: true },
        );
      }
      ctx.log.info(`app-service target: ${what}: no status URL; web app ${this.ref.app} is busy (409 Conflict, the swap still runs?), looking again in ${formatLimit(this.ref.intervalMs)}`);
      await ctx.clock.sleep(this.ref.intervalMs, ctx.signal);
    }
  }

  /** Runs a write, waiting while a swap of the app is in progress (409 Conflict), within the timeout. */
  private async quiet<T>(what: string, ctx: StepContext, write: () => Promise<T>): Promise<T> {
    const until = ctx.clock.now() + this.ref.timeoutMs;
    for (;;) {
      try {
        return await write();
      } catch (err) {
        if (!(err instanceof CloudError) || err.status !== 409) throw err;
        if (ctx.clock.now() >= until) {
          throw new ProviderError(
            `app-service target: cannot ${what}: web app ${this.ref.app} stayed busy with another operation (409 Conflict: ${err.message.replace(/^.*HTTP 409[^)]*\):?\s*/, '')}) for ${formatLimit(this.ref.timeoutMs)}; wait for the swap in progress to finish (az webapp deployment slot list) and run again`,
            { retryable: true },
          );
        }
        ctx.log.info(`app-service target: ${what}: web app ${this.ref.app} is busy (409 Conflict, a slot swap in progress?), trying again in ${formatLimit(this.ref.intervalMs)}`);
        await ctx.clock.sleep(this.ref.intervalMs, ctx.signal);
      }
    }
  }
}

/** A swap's operation as kept in the journal: the status URL ARM gave and the header it came in. */
export interface PendingSwap {
  url?: string;
  header?: 'azure-asyncoperation' | 'location';
}

/** The status URL of a long-running operation's first answer (Azure-AsyncOperation first, as ARM's clients read it). */
function operationUrl(response: RestResponse<unknown>): PendingSwap {
  const asyncUrl = response.headers.get('azure-asyncoperation');
  if (asyncUrl) return { url: asyncUrl, header: 'azure-asyncoperation' };
  const location = response.headers.get('location');
  return location ? { url: location, header: 'location' } : {};
}
