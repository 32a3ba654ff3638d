import { createVirtualClock, type VirtualClock } from '../../../clocks/virtual.js';
import type { ProviderDeps } from '../../../ports/provider-deps.js';
import { fakeDeps } from '../../fakes.js';
import type { MemoryProviderStates } from '../../state.js';
import { ArmServer, type ArmServerOptions } from '../arm-server.js';

export const SUBSCRIPTION = '00000000-0000-4000-8000-000000000000';
export const RESOURCE_GROUP = 'rg-web';

export interface ArmFixture {
  server: ArmServer;
  clock: VirtualClock;
  /** The step's environment: a service principal of the double (see ArmServer.env). */
  env: Record<string, string>;
  /** The workflow's `azure:` block naming the double. */
  settings: { endpoint: string; subscriptionId: string; resourceGroup: string };
  /** Deps whose `azure` settings name the double, on the virtual clock. */
  deps(states: MemoryProviderStates, target?: ProviderDeps['target']): ProviderDeps;
  cleanup(): Promise<void>;
}

/** The ARM double on a virtual clock, with a service principal's variables and the settings naming it. */
export async function armFixture(options: ArmServerOptions = {}): Promise<ArmFixture> {
  const clock = createVirtualClock();
  const server = await new ArmServer({ now: () => clock.now(), ...options }).start();
  const settings = { endpoint: server.url, subscriptionId: SUBSCRIPTION, resourceGroup: RESOURCE_GROUP };
  return {
    server,
    clock,
    env: server.env(),
    settings,
    deps: (states, target) => fakeDeps({ clock, environment: 'production', ...(target ? { target } : {}) }, { states, settings: { azure: settings } }),
    cleanup: () => server.stop(),
  };
}
