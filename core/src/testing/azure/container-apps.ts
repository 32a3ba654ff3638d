import { type Answer, type ArmServer, armFault } from './arm-server.js';
import { type AppState, ContainerAppsWorld, type ContainerAppsOptions, type RevisionState, type Template, type TrafficEntry } from './container-apps/world.js';

/*
 * Azure Container Apps on the ARM double (Microsoft.App/containerApps, api-version 2024-03-01),
 * the documented shapes of the subset the container-apps target uses:
 * - app: GET, PUT (create, 201 + Azure-AsyncOperation; on an existing app a replacement of its
 *   template and configuration, fields left out going back to their defaults), PATCH (a JSON merge
 *   of the body); a changed `properties.template` makes a new revision named APP--SUFFIX (202 +
 *   Azure-AsyncOperation, the operation ending when that revision is provisioned, Failed with the
 *   image's error when it cannot be). A suffix an active revision holds is refused (400); one an
 *   inactive revision holds is accepted and changes nothing (no new revision, the old one still
 *   inactive: microsoft/azure-container-apps#650). DELETE (202);
 * - `properties.configuration.activeRevisionsMode` Single or Multiple, `ingress.traffic`
 *   entries (`revisionName` or `latestRevision`, `weight`, `label`) checked as ARM checks them:
 *   weights sum to 100, named revisions exist and are active, labels unique, no split in Single mode;
 *   a PUT or PATCH while another operation runs on the app (a revision provisioning, a change
 *   applied), and an activate, deactivate or DELETE while a change is applied, are refused
 *   (409 ContainerAppOperationInProgress);
 * - revisions: GET one, list, POST activate / deactivate (refused while it takes traffic), with
 *   `provisioningState`, `runningState`, `healthState`, `replicas`, `trafficWeight`, `active`.
 * Not covered: secrets, registries, Dapr, jobs, replicas' own API, revision restart, labels' FQDNs.
 */

const APP = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.App/containerApps/:app';

export interface SeedOptions {
  image: string;
  mode?: 'Single' | 'Multiple';
  suffix?: string;
  minReplicas?: number;
  resourceGroup?: string;
}

export class ContainerAppsDouble {
  readonly world: ContainerAppsWorld;

  constructor(
    readonly server: ArmServer,
    options: Omit<ContainerAppsOptions, 'now'> & { now: () => number },
  ) {
    this.world = new ContainerAppsWorld(options);
    server.route('GET', APP, ({ params }) => ({ status: 200, body: this.appBody(this.must(params)) }));
    server.route('PUT', APP, ({ params, body }) => this.create(params, body));
    server.route('PATCH', APP, ({ params, body }) => this.patch(this.must(params), body as Patch));
    server.route('DELETE', APP, ({ params }) => {
      const app = this.world.get(params.rg as string, params.app as string);
      if (!app) return { status: 204 };
      this.notBusy(app);
      this.world.apps.delete(this.world.key(app.resourceGroup, app.name));
      return server.asyncOperation(() => ({ status: 'Succeeded' }));
    });
    server.route('GET', `${APP}/revisions`, ({ params }) => {
      const app = this.must(params);
      return { status: 200, body: { value: app.revisions.map((r) => this.revisionBody(app, r)) } };
    });
    server.route('GET', `${APP}/revisions/:revision`, ({ params }) => {
      const app = this.must(params);
      return { status: 200, body: this.revisionBody(app, this.revision(app, params.revision as string)) };
    });
    server.route('POST', `${APP}/revisions/:revision/activate`, ({ params }) => {
      const app = this.notBusy(this.must(params));
      const revision = this.revision(app, params.revision as string);
      if (!revision.active) Object.assign(revision, { active: true, activatedAt: this.world.now() });
      return { status: 200 };
    });
    server.route('POST', `${APP}/revisions/:revision/deactivate`, ({ params }) => {
      const app = this.notBusy(this.must(params));
      const revision = this.revision(app, params.revision as string);
      if ((this.world.weights(app).get(revision.name) ?? 0) > 0) {
        throw armFault(400, 'ContainerAppRevisionInUse', `Revision '${revision.name}' cannot be deactivated because it receives traffic. Move its traffic to another revision first.`);
      }
      revision.active = false;
      return { status: 200 };
    });
  }

  /** An app that already runs `image` in one provisioned, healthy revision taking all traffic. */
  seed(name: string, options: SeedOptions): AppState {
    const resourceGroup = options.resourceGroup ?? 'rg-web';
    const template: Template = { revisionSuffix: options.suffix ?? 'seed', containers: [{ name: name, image: options.image, resources: { cpu: 0.5, memory: '1Gi' } }], scale: { minReplicas: options.minReplicas ?? 1, maxReplicas: 10 } };
    const app: AppState = { name, resourceGroup, location: 'westeurope', environmentId: envId(resourceGroup), mode: options.mode ?? 'Multiple', ingress: { external: true, targetPort: 8080, traffic: [] }, template, revisions: [], busyUntil: 0 };
    const revision = this.world.addRevision(app, template);
    revision.activatedAt = revision.createdAt = this.world.now() - this.world.startMs;
    app.ingress.traffic = app.mode === 'Single' ? [{ latestRevision: true, weight: 100 }] : [{ revisionName: revision.name, weight: 100 }];
    this.world.apps.set(this.world.key(resourceGroup, name), app);
    return app;
  }

  /** A second revision of `image` already provisioned, in the traffic under `label` with `weight` (the stable revisions keep the rest). */
  seedRevision(name: string, options: { image: string; suffix: string; label?: string; weight?: number; resourceGroup?: string }): void {
    const app = this.world.get(options.resourceGroup ?? 'rg-web', name);
    if (!app) throw new Error(`seedRevision: no app ${name}`);
    const revision = this.world.addRevision(app, { ...app.template, revisionSuffix: options.suffix, containers: app.template.containers.map((c, i) => (i === 0 ? { ...c, image: options.image } : c)) });
    revision.activatedAt = revision.createdAt = this.world.now() - this.world.startMs;
    const weight = options.weight ?? 0;
    const stable = app.ingress.traffic.map((t) => ({ ...t, weight: Math.round((t.weight * (100 - weight)) / 100) }));
    app.ingress.traffic = [...stable, { revisionName: revision.name, weight, ...(options.label ? { label: options.label } : {}) }];
  }

  /** The app as a user would check it: mode, traffic, and the active revisions with their images. */
  view(name: string, resourceGroup = 'rg-web'): unknown {
    const app = this.world.get(resourceGroup, name);
    if (!app) return undefined;
    return {
      mode: app.mode,
      traffic: app.ingress.traffic,
      active: app.revisions.filter((r) => r.active).map((r) => ({ name: r.name, images: r.template.containers.map((c) => c.image) })),
    };
  }

  private must(params: Record<string, string>): AppState {
    const app = this.world.get(params.rg as string, params.app as string);
    if (!app) throw armFault(404, 'ResourceNotFound', `The Resource 'Microsoft.App/containerApps/${params.app}' under resource group '${params.rg}' was not found.`);
    return app;
  }

  private revision(app: AppState, name: string): RevisionState {
    const found = app.revisions.find((r) => r.name.toLowerCase() === name.toLowerCase());
    if (!found) throw armFault(404, 'ContainerAppRevisionNotFound', `Revision '${name}' of container app '${app.name}' was not found.`);
    return found;
  }

  /**
   * Container Apps refuses a change while another operation on the app runs (it does not queue
   * it). A template or traffic change meets a revision still provisioning too; activate,
   * deactivate and delete only a change being applied (a stuck revision can still be deactivated).
   */
  private notBusy(app: AppState, revisionsToo = false): AppState {
    const busy = revisionsToo ? this.world.provisioningState(app) === 'InProgress' : this.world.now() < app.busyUntil;
    if (busy) {
      throw armFault(409, 'ContainerAppOperationInProgress', `Cannot modify a container app '${app.name}' because there is a pending operation on it. Please try again later.`);
    }
    return app;
  }

  private create(params: Record<string, string>, body: unknown): Answer {
    const b = (body ?? {}) as Patch & { location?: string };
    const existing = this.world.get(params.rg as string, params.app as string);
    if (existing) {
      // A PUT replaces: what the body leaves out goes back to its default, not kept as a PATCH keeps it.
      const template = b.properties?.template;
      if (!template?.containers?.length) throw armFault(400, 'InvalidParameterValue', 'properties.template.containers must hold at least one container.');
      const config = b.properties?.configuration ?? {};
      const ingress = { external: false, targetPort: 80, ...config.ingress, traffic: config.ingress?.traffic ?? [{ latestRevision: true, weight: 100 }] };
      return this.patch(existing, { properties: { template, configuration: { activeRevisionsMode: config.activeRevisionsMode ?? 'Single', ingress } } }, true);
    }
    const template = b.properties?.template;
    if (!template?.containers?.length) throw armFault(400, 'InvalidParameterValue', 'properties.template.containers must hold at least one container.');
    const config = b.properties?.configuration ?? {};
    const mode = config.activeRevisionsMode ?? 'Single';
    const app: AppState = {
      name: params.app as string,
      resourceGroup: params.rg as string,
      location: b.location ?? 'westeurope',
      environmentId: b.properties?.environmentId ?? envId(params.rg as string),
      mode,
      ingress: { external: true, targetPort: 8080, ...config.ingress, traffic: config.ingress?.traffic ?? [{ latestRevision: true, weight: 100 }] },
      template: structuredClone(template) as Template,
      revisions: [],
      busyUntil: 0,
    };
    const revision = this.world.addRevision(app, app.template);
    this.world.apps.set(this.world.key(app.resourceGroup, app.name), app);
    return this.server.asyncOperation(() => this.revisionOperation(app, revision), 201, this.appBody(app));
  }

  private patch(app: AppState, body: Patch, replace = false): Answer {
    this.notBusy(app, true);
    const props = body?.properties ?? {};
    const mode = props.configuration?.activeRevisionsMode ?? app.mode;
    const traffic = props.configuration?.ingress?.traffic;
    let template = props.template ? ((replace ? structuredClone(props.template) : { ...app.template, ...structuredClone(props.template) }) as Template) : undefined;
    let changesTemplate = template !== undefined && JSON.stringify(template) !== JSON.stringify(app.template);
    const holder = changesTemplate ? app.revisions.find((r) => r.name === `${app.name}--${template?.revisionSuffix}`) : undefined;
    if (holder?.active) {
      throw armFault(400, 'ContainerAppInvalidRequest', `The following field(s) are either invalid or missing. Field 'template.revisionsuffix' is invalid with details: 'Invalid value: "${template?.revisionSuffix}": revision with suffix ${template?.revisionSuffix} already exists'.`);
    }
    if (holder) {
      // microsoft/azure-container-apps#650: accepted, and nothing happens (no revision, the old one still inactive).
      template = undefined;
      changesTemplate = false;
    }
    const revision = changesTemplate && template ? this.world.addRevision(app, template) : undefined;
    try {
      if (traffic) this.checkTraffic(app, mode, traffic);
    } catch (err) {
      if (revision) app.revisions.pop();
      throw err;
    }
    app.mode = mode;
    if (props.configuration?.ingress) app.ingress = { ...(replace ? {} : app.ingress), ...props.configuration.ingress, traffic: traffic ?? app.ingress.traffic } as AppState['ingress'];
    if (template) app.template = template;
    if (revision) return this.server.asyncOperation(() => this.revisionOperation(app, revision));
    app.busyUntil = this.world.now() + 2000;
    return this.server.asyncOperation(() => ({ status: this.world.now() < app.busyUntil ? 'InProgress' : 'Succeeded' }));
  }

  private checkTraffic(app: AppState, mode: string, traffic: TrafficEntry[]): void {
    const sum = traffic.reduce((n, t) => n + (t.weight ?? 0), 0);
    if (sum !== 100) throw armFault(400, 'ContainerAppInvalidTrafficWeight', `The traffic weights of container app '${app.name}' must add up to 100, not ${sum}.`);
    if (mode === 'Single' && traffic.some((t) => !t.latestRevision && t.weight > 0)) {
      throw armFault(400, 'ContainerAppTrafficSplitNotAllowed', `Container app '${app.name}' is in Single revision mode: traffic can only go to the latest revision. Set activeRevisionsMode to Multiple to split traffic.`);
    }
    const labels = traffic.flatMap((t) => (t.label ? [t.label] : []));
    if (new Set(labels).size !== labels.length) throw armFault(400, 'ContainerAppDuplicateTrafficLabel', `Traffic labels of container app '${app.name}' must be unique.`);
    for (const t of traffic) {
      if (t.latestRevision) continue;
      const revision = app.revisions.find((r) => r.name === t.revisionName);
      if (!revision) throw armFault(400, 'ContainerAppRevisionNotFound', `Revision '${t.revisionName}' in the traffic of container app '${app.name}' does not exist.`);
      if (!revision.active && t.weight > 0) throw armFault(400, 'ContainerAppRevisionNotActive', `Revision '${t.revisionName}' is not active, so it cannot receive traffic; activate it first.`);
    }
  }

  private revisionOperation(app: AppState, revision: RevisionState) {
    const state = this.world.view(app, revision).provisioningState;
    if (state === 'Provisioning') return { status: 'InProgress' as const };
    if (state === 'Failed') {
      const image = revision.template.containers.map((c) => c.image).join(', ');
      return {
        status: 'Failed' as const,
        error: { code: 'ContainerAppOperationError', message: `Failed to provision revision for container app '${app.name}'. Error details: The image '${image}' cannot be pulled: manifest unknown.` },
      };
    }
    return { status: 'Succeeded' as const };
  }

  private appBody(app: AppState): unknown {
    const latest = this.world.latest(app);
    return {
      id: `/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/${app.resourceGroup}/providers/Microsoft.App/containerApps/${app.name}`,
      name: app.name,
      type: 'Microsoft.App/containerApps',
      location: app.location,
      properties: {
        provisioningState: this.world.provisioningState(app),
        environmentId: app.environmentId,
        latestRevisionName: latest?.name ?? '',
        latestReadyRevisionName: this.world.latestReady(app)?.name ?? '',
        latestRevisionFqdn: latest ? `${latest.name}.happyhill.westeurope.azurecontainerapps.io` : '',
        configuration: { activeRevisionsMode: app.mode, ingress: { ...app.ingress, fqdn: `${app.name}.happyhill.westeurope.azurecontainerapps.io` } },
        template: app.template,
      },
    };
  }

  private revisionBody(app: AppState, revision: RevisionState): unknown {
    const view = this.world.view(app, revision);
    return {
      id: `/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/${app.resourceGroup}/providers/Microsoft.App/containerApps/${app.name}/revisions/${revision.name}`,
      name: revision.name,
      type: 'Microsoft.App/containerApps/revisions',
      properties: {
        createdTime: new Date(revision.createdAt).toISOString(),
        active: revision.active,
        template: revision.template,
        trafficWeight: this.world.weights(app).get(revision.name) ?? 0,
        ...view,
      },
    };
  }
}

type Patch = {
  properties?: {
    environmentId?: string;
    template?: Partial<Template>;
    configuration?: { activeRevisionsMode?: 'Single' | 'Multiple'; ingress?: { traffic?: TrafficEntry[]; [k: string]: unknown } };
  };
};

const envId = (rg: string) => `/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/${rg}/providers/Microsoft.App/managedEnvironments/env-web`;
