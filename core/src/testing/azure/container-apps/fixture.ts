import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProviderDeps } from '../../../ports/provider-deps.js';
import { fakeDeps } from '../../fakes.js';
import type { MemoryProviderStates } from '../../state.js';
import type { ArmServerOptions } from '../arm-server.js';
import { type ArmFixture, armFixture, RESOURCE_GROUP, SUBSCRIPTION } from '../base/fixture.js';
import { ContainerAppsDouble } from '../container-apps.js';

/** The ARM body of app `web` as a user keeps it to create it on a first deploy. */
export function webManifest(image = 'acme.azurecr.io/web:1.0.0'): unknown {
  return {
    location: 'westeurope',
    properties: {
      environmentId: `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.App/managedEnvironments/env-web`,
      configuration: { activeRevisionsMode: 'Multiple', ingress: { external: true, targetPort: 8080 } },
      template: { containers: [{ name: 'web', image, resources: { cpu: 0.5, memory: '1Gi' } }], scale: { minReplicas: 1, maxReplicas: 10 } },
    },
  };
}

export interface ContainerAppsFixture extends ArmFixture {
  apps: ContainerAppsDouble;
  /** A temp dir holding the manifest `web.json`: the deps' workDir. */
  dir: string;
}

/**
 * The ARM double with Container Apps on a virtual clock (revisions provision in 10 s of it; images
 * tagged `bad` fail, `slow` never finish), a service principal in `env`, and `web.json` in a temp dir.
 */
export async function containerAppsFixture(options: ArmServerOptions & { capacity?: number } = {}): Promise<ContainerAppsFixture> {
  const base = await armFixture(options);
  const apps = new ContainerAppsDouble(base.server, { now: () => base.clock.now(), ...(options.capacity !== undefined ? { capacity: options.capacity } : {}) });
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-aca-'));
  writeFileSync(join(dir, 'web.json'), JSON.stringify(webManifest()));
  return {
    ...base,
    apps,
    dir,
    deps: (states: MemoryProviderStates, target?: ProviderDeps['target']) =>
      fakeDeps({ clock: base.clock, environment: 'production', workDir: dir, ...(target ? { target } : {}) }, { states, settings: { azure: base.settings } }),
    cleanup: async () => {
      await base.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
