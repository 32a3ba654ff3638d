/*
 * The state of the App Service double, without HTTP: sites, their deployment slots, what each
 * slot runs and how it answers, slot swaps as long-running operations. Pure and driven by the
 * time it is given (`now`), so a virtual clock moves it: a slot whose image changed or that was
 * restarted answers 503 until it has warmed up (`warmUpMs`), an image tagged `bad` never answers
 * healthily, and a swap completes at its third status poll or `swapMs` after it began, whichever
 * comes first (a client that crashed mid-swap finds it done, or still in progress, later).
 *
 * What a swap trades is the content of the two slots (image, app settings, warm state), as App
 * Service does with a slot's non-sticky configuration; the routing rules of "Testing in
 * production" (`experiments.rampUpRules`) belong to the production site and stay where they are.
 * While a swap runs, the source slot's instances restart with the target's settings (Microsoft
 * Learn, "Examine slot swapping", step 1): the source slot answers 503 until the swap ends. So
 * production traffic a routing rule sends to the slot meets 503 during a swap, and after it meets
 * the old version the slot now runs; `misrouted` records both (what a promotion must not do).
 * A routing rule must name a slot of the site by its host name, as App Service requires.
 */

import { ArmFault } from '../arm-server.js';

export { ArmFault };

export type SlotRunState = 'Running' | 'Stopped';

export interface RampUpRule {
  actionHostName: string;
  reroutePercentage: number;
  name: string;
}

/** What one slot runs (production is the slot named `production`). */
export interface SlotModel {
  /** `DOCKER|registry/web:1.0.0`, or '' when nothing is deployed. */
  linuxFxVersion: string;
  appSettings: Record<string, string>;
  state: SlotRunState;
  /** When the slot last (re)started: it answers healthily `warmUpMs` after this. */
  startedAt: number;
  /** The slot's `defaultHostName` (the server gives each slot a loopback address of its own). */
  hostName: string;
  /** Set while the slot is the source of a swap in progress: its instances restart (503). */
  swapping?: boolean;
  /** `windowsFxVersion` (a Windows container app), when set. */
  windowsFxVersion?: string;
  /** A write of linuxFxVersion is accepted but not applied (something else keeps the slot's image). */
  pinned?: boolean;
}

export interface SwapOperation {
  id: string;
  site: string;
  source: string;
  target: string;
  startedAt: number;
  polls: number;
  status: 'InProgress' | 'Succeeded';
}

export interface SiteModel {
  resourceGroup: string;
  name: string;
  slots: Map<string, SlotModel>;
  rampUpRules: RampUpRule[];
}

export interface WorldOptions {
  now(): number;
  /** How long a slot takes to answer healthily after it (re)started (default 20 s). */
  warmUpMs?: number;
  /** A swap completes this long after it began if nobody polls it (default 30 s). */
  swapMs?: number;
  /** Status polls after which a swap completes (default 3). */
  swapPolls?: number;
}

const key = (resourceGroup: string, name: string) => `${resourceGroup.toLowerCase()}/${name.toLowerCase()}`;

/** The image of a `DOCKER|image` linuxFxVersion, '' for anything else. */
export const imageOfFx = (fx: string): string => (fx.toUpperCase().startsWith('DOCKER|') ? fx.slice('DOCKER|'.length) : '');

export class AppServiceWorld {
  private readonly sites = new Map<string, SiteModel>();
  private readonly swaps = new Map<string, SwapOperation>();
  private nextSwap = 1;
  /** Production traffic a routing rule sent to a slot restarting for a swap, or running the old version after it. */
  readonly misrouted: string[] = [];
  readonly warmUpMs: number;
  readonly swapMs: number;
  readonly swapPolls: number;

  constructor(private readonly options: WorldOptions) {
    this.warmUpMs = options.warmUpMs ?? 20_000;
    this.swapMs = options.swapMs ?? 30_000;
    this.swapPolls = options.swapPolls ?? 3;
  }

  private now(): number {
    return this.options.now();
  }

  /** Adds a site with its production image and slots (`{ staging: image }`); all warm already. */
  addSite(resourceGroup: string, name: string, production: string, slots: Record<string, string> = {}, hostName = (slot: string) => `${name}${slot === 'production' ? '' : `-${slot}`}.azurewebsites.net`): SiteModel {
    const warm = this.now() - this.warmUpMs;
    const slot = (image: string, slotName: string): SlotModel => ({
      linuxFxVersion: image ? `DOCKER|${image}` : '',
      appSettings: {},
      state: 'Running',
      startedAt: warm,
      hostName: hostName(slotName),
    });
    const site: SiteModel = { resourceGroup, name, slots: new Map([['production', slot(production, 'production')]]), rampUpRules: [] };
    for (const [slotName, image] of Object.entries(slots)) site.slots.set(slotName, slot(image, slotName));
    this.sites.set(key(resourceGroup, name), site);
    return site;
  }

  /** Adds a warm slot to a site (`az webapp deployment slot create`). */
  addSlot(resourceGroup: string, name: string, slot: string, image: string, hostName: string): SlotModel {
    const model: SlotModel = { linuxFxVersion: image ? `DOCKER|${image}` : '', appSettings: {}, state: 'Running', startedAt: this.now() - this.warmUpMs, hostName };
    this.site(resourceGroup, name).slots.set(slot.toLowerCase(), model);
    return model;
  }

  /** The site, or a 404 as ARM words it. */
  site(resourceGroup: string, name: string): SiteModel {
    this.settle();
    const site = this.sites.get(key(resourceGroup, name));
    if (!site) {
      throw new ArmFault(404, 'ResourceNotFound', `The Resource 'Microsoft.Web/sites/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
    }
    return site;
  }

  /** One slot of a site (`production` for the site itself), or a 404. */
  slot(resourceGroup: string, name: string, slot: string): SlotModel {
    const found = this.site(resourceGroup, name).slots.get(slot.toLowerCase());
    if (!found) throw new ArmFault(404, 'ResourceNotFound', `The Resource 'Microsoft.Web/sites/${name}/slots/${slot}' under resource group '${resourceGroup}' was not found.`);
    return found;
  }

  /** The image a slot runs ('' when none). */
  image(resourceGroup: string, name: string, slot = 'production'): string {
    return imageOfFx(this.slot(resourceGroup, name, slot).linuxFxVersion);
  }

  /** The swap in progress on a site, if any. */
  swapInProgress(resourceGroup: string, name: string): SwapOperation | undefined {
    this.settle();
    return [...this.swaps.values()].find((s) => s.site === key(resourceGroup, name) && s.status === 'InProgress');
  }

  private refuseDuringSwap(resourceGroup: string, name: string): void {
    const swap = this.swapInProgress(resourceGroup, name);
    if (swap) {
      throw new ArmFault(
        409,
        'Conflict',
        `Cannot modify this site because another operation is in progress. Details: Id: ${swap.id}, OperationName: SwapSiteSlots, CreatedTime: ${new Date(swap.startedAt).toISOString()}, EntityType: Site`,
      );
    }
  }

  /**
   * A PATCH of a slot's web config: `linuxFxVersion` (a change restarts the slot, as App Service
   * does), and on production `experiments.rampUpRules`. Returns the slot.
   */
  patchConfig(resourceGroup: string, name: string, slot: string, properties: { linuxFxVersion?: string; experiments?: { rampUpRules?: RampUpRule[] } }): SlotModel {
    const site = this.site(resourceGroup, name);
    const model = this.slot(resourceGroup, name, slot);
    this.refuseDuringSwap(resourceGroup, name);
    if (properties.linuxFxVersion !== undefined && properties.linuxFxVersion !== model.linuxFxVersion && !model.pinned) {
      model.linuxFxVersion = properties.linuxFxVersion;
      model.startedAt = this.now();
    }
    if (properties.experiments?.rampUpRules !== undefined) {
      if (slot.toLowerCase() !== 'production') throw new ArmFault(400, 'BadRequest', 'Routing rules (experiments.rampUpRules) can only be set on the production slot.');
      const hosts = [...site.slots.entries()].filter(([n]) => n !== 'production').map(([, m]) => m.hostName.toLowerCase());
      for (const rule of properties.experiments.rampUpRules) {
        if (!(rule.reroutePercentage >= 0 && rule.reroutePercentage <= 100)) throw new ArmFault(400, 'BadRequest', `reroutePercentage must be between 0 and 100, got ${rule.reroutePercentage}.`);
        if (!rule.name) throw new ArmFault(400, 'BadRequest', 'A routing rule needs a name.');
        if (!hosts.includes(String(rule.actionHostName).toLowerCase())) {
          throw new ArmFault(400, 'BadRequest', `The routing rule '${rule.name}' has actionHostName '${rule.actionHostName}', which is not the host name of a deployment slot of site '${name}'.`);
        }
      }
      site.rampUpRules = properties.experiments.rampUpRules.map((r) => ({ ...r }));
    }
    return model;
  }

  /** A restart: the slot answers 503 again until it has warmed up. */
  restart(resourceGroup: string, name: string, slot: string): void {
    const model = this.slot(resourceGroup, name, slot);
    this.refuseDuringSwap(resourceGroup, name);
    model.state = 'Running';
    model.startedAt = this.now();
  }

  /** Stops or starts a slot (someone in the portal). */
  setState(resourceGroup: string, name: string, slot: string, state: SlotRunState): void {
    const model = this.slot(resourceGroup, name, slot);
    model.state = state;
    if (state === 'Running') model.startedAt = this.now();
  }

  /** What a request to the slot's host answers: 200 once warm, 503 while warming or stopped, 500 for a `bad` image. */
  health(model: SlotModel): { status: number; body: string } {
    this.settle();
    const image = imageOfFx(model.linuxFxVersion);
    if (model.state === 'Stopped') return { status: 403, body: 'Error 403 - This web app is stopped.' };
    if (model.swapping) return { status: 503, body: 'Service Unavailable: the instances restart for a slot swap' };
    if (image === '') return { status: 200, body: 'Your web app is running and waiting for your content' };
    if (image.endsWith(':bad')) return { status: 500, body: `${image}: the application failed to start` };
    if (this.now() < model.startedAt + this.warmUpMs) return { status: 503, body: 'Service Unavailable: the container is starting' };
    return { status: 200, body: JSON.stringify({ image }) };
  }

  /** Starts swapping `source` into `target`; a 409 while another swap of the site runs. */
  startSwap(resourceGroup: string, name: string, source: string, target: string): SwapOperation {
    this.slot(resourceGroup, name, source);
    this.slot(resourceGroup, name, target);
    if (source.toLowerCase() === target.toLowerCase()) throw new ArmFault(400, 'BadRequest', `Cannot swap slot '${source}' with itself.`);
    const running = this.swapInProgress(resourceGroup, name);
    if (running) throw new ArmFault(409, 'Conflict', `There is a slot swap operation in progress for site '${name}' (operation ${running.id}); wait for it to complete.`);
    const op: SwapOperation = { id: `swap-${this.nextSwap++}`, site: key(resourceGroup, name), source: source.toLowerCase(), target: target.toLowerCase(), startedAt: this.now(), polls: 0, status: 'InProgress' };
    this.swaps.set(op.id, op);
    const from = this.slot(resourceGroup, name, source);
    from.swapping = true;
    this.noteRouted(this.site(resourceGroup, name), from, `during ${op.id}`, 'which restarts for the swap (503)');
    return op;
  }

  /** What production's requests meet now: each slot a routing rule sends a share to, and production for the rest. */
  routed(resourceGroup: string, name: string): { slot: string; percent: number; status: number; body: string }[] {
    const site = this.site(resourceGroup, name);
    const out: { slot: string; percent: number; status: number; body: string }[] = [];
    let rest = 100;
    for (const rule of site.rampUpRules) {
      const entry = [...site.slots.entries()].find(([, m]) => m.hostName.toLowerCase() === rule.actionHostName.toLowerCase());
      if (!entry || rule.reroutePercentage <= 0) continue;
      rest -= rule.reroutePercentage;
      out.push({ slot: entry[0], percent: rule.reroutePercentage, ...this.health(entry[1]) });
    }
    if (rest > 0) out.push({ slot: 'production', percent: rest, ...this.health(site.slots.get('production') as SlotModel) });
    return out;
  }

  private noteRouted(site: SiteModel, slot: SlotModel, when: string, what: string): void {
    const share = site.rampUpRules.filter((r) => r.actionHostName.toLowerCase() === slot.hostName.toLowerCase()).reduce((sum, r) => sum + r.reroutePercentage, 0);
    const slotName = [...site.slots.entries()].find(([, m]) => m === slot)?.[0];
    if (share > 0) this.misrouted.push(`${when}: ${share}% of production's requests went to slot ${slotName}, ${what}`);
  }

  /** A status poll of a swap: counts toward its completion. */
  pollSwap(id: string): SwapOperation | undefined {
    const op = this.swaps.get(id);
    if (!op) return undefined;
    if (op.status === 'InProgress') op.polls += 1;
    this.settle();
    return op;
  }

  /** Completes the swaps whose time or polls have come: the two slots trade what they run. */
  private settle(): void {
    for (const op of this.swaps.values()) {
      if (op.status !== 'InProgress' || (op.polls < this.swapPolls && this.now() < op.startedAt + this.swapMs)) continue;
      op.status = 'Succeeded';
      const site = this.sites.get(op.site);
      const a = site?.slots.get(op.source);
      const b = site?.slots.get(op.target);
      if (!a || !b) continue;
      // The content moves; each slot keeps its own host name.
      const content = (s: SlotModel) => ({ linuxFxVersion: s.linuxFxVersion, appSettings: s.appSettings, state: s.state, startedAt: s.startedAt });
      const fromA = content(a);
      Object.assign(a, content(b));
      Object.assign(b, fromA);
      a.swapping = false;
      if (site) this.noteRouted(site, a, `after ${op.id}`, `which now runs the old version ${imageOfFx(a.linuxFxVersion) || '(none)'}`);
    }
  }
}
