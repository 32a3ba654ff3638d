import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Answer, type ArmRequest, type ArmServer, armFault } from './arm-server.js';
import { AppServiceWorld, type RampUpRule, type SiteModel, type SlotModel, type WorldOptions } from './app-service/world.js';

/*
 * The App Service double: Microsoft.Web/sites and their deployment slots on an ArmServer, with the
 * documented paths and shapes (api-version 2023-12-01):
 *   GET   …/sites/{app}[/slots/{slot}]                  properties.state, defaultHostName
 *   GET   …/sites/{app}[/slots/{slot}]/config/web       properties.linuxFxVersion (DOCKER|image), experiments.rampUpRules
 *   PATCH/PUT the same config                            the image (a change restarts the slot), routing rules (production)
 *   POST  …/sites/{app}[/slots/{slot}]/restart          the slot warms up again
 *   POST  …/sites/{app}/slots/{slot}/slotsswap          {targetSlot, preserveVnet}: 202 with a Location
 *   GET   …/sites/{app}/slots/{slot}/operationresults/{id}   202 while the swap runs, then 200
 * and each slot's own host: a loopback HTTP listener per slot, its address the slot's
 * `defaultHostName`, answering as the slot's state says (world.ts: warm-up, `bad` images, stopped).
 * Errors as ARM sends them: 404 ResourceNotFound, 409 Conflict while a swap runs, 400 BadRequest.
 */

const SITE = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Web/sites/:app';

export class AppServiceDouble {
  readonly world: AppServiceWorld;
  private readonly listeners: Server[] = [];
  private readonly faults: { pattern: RegExp; method: string; when: () => boolean; times: number }[] = [];
  private readonly holds: { pattern: RegExp; method: string; onArrival: () => void; times: number; acted: boolean }[] = [];
  /** A swap is answered 202 with no Location (ARM does not promise one): the client must see its end otherwise. */
  swapWithoutStatusUrl = false;

  constructor(
    private readonly server: ArmServer,
    options: WorldOptions,
  ) {
    this.world = new AppServiceWorld(options);
    this.routes();
  }

  /**
   * Adds a web app with its production image and slots (`{ staging: image }`), all warm; each slot
   * gets a host of its own (a loopback listener) as its defaultHostName.
   */
  async addSite(resourceGroup: string, name: string, production: string, slots: Record<string, string> = {}): Promise<SiteModel> {
    const hosts = new Map<string, string>();
    for (const slot of ['production', ...Object.keys(slots)]) hosts.set(slot, await this.listen(() => this.world.slot(resourceGroup, name, slot)));
    return this.world.addSite(resourceGroup, name, production, slots, (slot) => hosts.get(slot) as string);
  }

  /** Adds a warm slot with a host of its own to a site added before. */
  async addSlot(resourceGroup: string, name: string, slot: string, image: string): Promise<SlotModel> {
    const host = await this.listen(() => this.world.slot(resourceGroup, name, slot));
    return this.world.addSlot(resourceGroup, name, slot, image, host);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.listeners.map(
        (l) =>
          new Promise<void>((resolve) => {
            l.closeAllConnections();
            l.close(() => resolve());
          }),
      ),
    );
  }

  /**
   * The next `times` requests of `method` on a path matching `pattern` made while `when()` holds are
   * answered 503 (a fault that only the call under test meets, not the ones that arranged it).
   */
  failWhen(pattern: RegExp, method: string, when: () => boolean, times = 1): void {
    this.faults.push({ pattern, method: method.toUpperCase(), when, times });
  }

  /**
   * The next `times` requests of `method` on a path matching `pattern` are never answered (until the
   * double stops): a rollgate that dies while it waits on them. `onArrival` runs when one arrives.
   */
  holdWhen(pattern: RegExp, method: string, onArrival: () => void, times = 1, options: { acted?: boolean } = {}): void {
    // acted: the request is carried out, only its answer never comes (rollgate died after ARM acted).
    this.holds.push({ pattern, method: method.toUpperCase(), onArrival, times, acted: options.acted ?? false });
  }

  private operationUrl(r: ArmRequest, id: string): string {
    const site = `/subscriptions/${r.params.sub}/resourceGroups/${r.params.rg}/providers/Microsoft.Web/sites/${r.params.app}`;
    return `${this.server.url}${site}/slots/${r.params.slot}/operationresults/${id}?api-version=${r.apiVersion}`;
  }

  private held(r: ArmRequest): 'no' | 'before' | 'after' {
    const hold = this.holds.find((h) => h.times > 0 && h.method === r.method && h.pattern.test(r.path));
    if (!hold) return 'no';
    hold.times--;
    hold.onArrival();
    return hold.acted ? 'after' : 'before';
  }

  private faulted(r: ArmRequest): void {
    const fault = this.faults.find((f) => f.times > 0 && f.method === r.method && f.pattern.test(r.path) && f.when());
    if (!fault) return;
    fault.times--;
    throw armFault(503, 'ServiceUnavailable', 'The service is temporarily unavailable.');
  }

  private async listen(slot: () => SlotModel): Promise<string> {
    const listener = createServer((req, res) => {
      req.resume();
      const answer = this.world.health(slot());
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    this.listeners.push(listener);
    return `127.0.0.1:${(listener.address() as AddressInfo).port}`;
  }

  private routes(): void {
    const { world } = this;
    const server = {
      route: (method: string, path: string, handler: (r: ArmRequest) => Answer) =>
        this.server.route(method, path, (r) => {
          const held = this.held(r);
          if (held === 'before') return new Promise<Answer>(() => undefined);
          this.faulted(r);
          const answer = handler(r);
          return held === 'after' ? new Promise<Answer>(() => undefined) : answer;
        }),
    };
    const slotOf = (r: ArmRequest) => r.params.slot ?? 'production';
    const site = (r: ArmRequest) => {
      const slot = slotOf(r);
      const model = world.slot(r.params.rg as string, r.params.app as string, slot);
      const production = slot === 'production';
      const name = production ? (r.params.app as string) : `${r.params.app}/${slot}`;
      return {
        status: 200,
        body: {
          id: r.path,
          name,
          type: production ? 'Microsoft.Web/sites' : 'Microsoft.Web/sites/slots',
          kind: 'app,linux,container',
          location: 'West Europe',
          properties: {
            state: model.state,
            defaultHostName: model.hostName,
            enabledHostNames: [model.hostName],
            // ARM leaves siteConfig mostly empty on a site GET: the config lives at …/config/web.
            siteConfig: { linuxFxVersion: null },
            resourceGroup: r.params.rg,
          },
        },
      };
    };
    const config = (r: ArmRequest) => {
      const slot = slotOf(r);
      const model = world.slot(r.params.rg as string, r.params.app as string, slot);
      const rules = slot === 'production' ? world.site(r.params.rg as string, r.params.app as string).rampUpRules : [];
      return {
        status: 200,
        body: {
          id: r.path,
          name: r.params.app,
          type: 'Microsoft.Web/sites/config',
          properties: { linuxFxVersion: model.linuxFxVersion, windowsFxVersion: model.windowsFxVersion ?? null, appSettings: null, experiments: { rampUpRules: rules } },
        },
      };
    };
    const write = (r: ArmRequest) => {
      const properties = ((r.body ?? {}) as { properties?: { linuxFxVersion?: string; experiments?: { rampUpRules?: RampUpRule[] } } }).properties;
      if (!properties) throw armFault(400, 'BadRequest', 'The request body must have a properties object.');
      world.patchConfig(r.params.rg as string, r.params.app as string, slotOf(r), properties);
      return config(r);
    };
    const restart = (r: ArmRequest) => {
      world.restart(r.params.rg as string, r.params.app as string, slotOf(r));
      return { status: 200 };
    };
    for (const base of [SITE, `${SITE}/slots/:slot`]) {
      server.route('GET', base, site);
      server.route('GET', `${base}/config/web`, config);
      server.route('PATCH', `${base}/config/web`, write);
      server.route('PUT', `${base}/config/web`, write);
      server.route('POST', `${base}/restart`, restart);
    }
    // Web Apps answer a swap with 202 and a Location polled while it answers 202, as their REST reference shows.
    server.route('POST', `${SITE}/slots/:slot/slotsswap`, (r) => {
      const body = (r.body ?? {}) as { targetSlot?: string };
      if (!body.targetSlot) throw armFault(400, 'BadRequest', "The parameter 'targetSlot' is required.");
      const op = world.startSwap(r.params.rg as string, r.params.app as string, r.params.slot as string, body.targetSlot);
      return this.swapWithoutStatusUrl ? { status: 202 } : { status: 202, headers: { location: this.operationUrl(r, op.id), 'retry-after': '1' } };
    });
    server.route('GET', `${SITE}/slots/:slot/operationresults/:id`, (r) => {
      const op = world.pollSwap(r.params.id as string);
      if (!op) throw armFault(404, 'NotFound', `Operation ${r.params.id} was not found.`);
      return op.status === 'InProgress' ? { status: 202, headers: { location: this.operationUrl(r, op.id), 'retry-after': '1' } } : { status: 200 };
    });
  }
}
