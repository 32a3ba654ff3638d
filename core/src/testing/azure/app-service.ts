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
 *   POST  …/sites/{app}/slots/{slot}/slotsswap          {targetSlot, preserveVnet}: 202 and a long-running operation
 * and each slot's own host: a loopback HTTP listener per slot, its address the slot's
 * `defaultHostName`, answering as the slot's state says (world.ts: warm-up, `bad` images, stopped).
 * Errors as ARM sends them: 404 ResourceNotFound, 409 Conflict while a swap runs, 400 BadRequest.
 */

const SITE = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Web/sites/:app';

export class AppServiceDouble {
  readonly world: AppServiceWorld;
  private readonly listeners: Server[] = [];
  private readonly faults: { pattern: RegExp; method: string; when: () => boolean; times: number }[] = [];

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
          this.faulted(r);
          return handler(r);
        }),
      asyncOperation: this.server.asyncOperation.bind(this.server),
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
          properties: { linuxFxVersion: model.linuxFxVersion, appSettings: null, experiments: { rampUpRules: rules } },
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
    server.route('POST', `${SITE}/slots/:slot/slotsswap`, (r) => {
      const body = (r.body ?? {}) as { targetSlot?: string };
      if (!body.targetSlot) throw armFault(400, 'BadRequest', "The parameter 'targetSlot' is required.");
      const op = world.startSwap(r.params.rg as string, r.params.app as string, r.params.slot as string, body.targetSlot);
      return server.asyncOperation(() => ({ status: world.pollSwap(op.id)?.status ?? 'Succeeded' }));
    });
  }
}
