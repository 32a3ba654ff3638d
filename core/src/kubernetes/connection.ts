import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { KubeClient } from './client.js';
import { settingsOf } from './family.js';

/**
 * The cluster connection of one provider, made at its first call (the kubeconfig is read from the
 * step's environment then: KUBECONFIG and HOME of the runner) and kept; a failed attempt is not
 * kept, so a later call tries again.
 */
export function connection(deps: ProviderDeps): (ctx: StepContext) => Promise<KubeClient> {
  let client: Promise<KubeClient> | undefined;
  return async (ctx) => {
    client ??= KubeClient.connect(settingsOf(deps.settings('kubernetes')), ctx.env, deps.workDir).catch((err: unknown) => {
      client = undefined;
      throw err;
    });
    // Loading the library and the kubeconfig is real work: a virtual clock waits for it.
    const connected = await (ctx.clock.hold ? ctx.clock.hold(client) : client);
    return connected.on(ctx.clock);
  };
}
