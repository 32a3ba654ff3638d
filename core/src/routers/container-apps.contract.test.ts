import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { containerAppsFixture } from '../testing/azure/container-apps/fixture.js';
import { describeTrafficRouterContract, type TrafficRouterFixture } from '../testing/contracts/traffic-router.js';
import * as router from './container-apps.js';

/*
 * The container-apps router against the ARM double's Container Apps: app `web` runs 1.0.0 in
 * revision web--v1, and 2.0.0 in revision web--v2 labelled `candidate` with no traffic, as the
 * container-apps target leaves a candidate it started. The contexts carry the double's service
 * principal, as a runner's environment would (the suite's own contexts carry PATH only).
 */
describeTrafficRouterContract('container-apps', async () => {
  const azure = await containerAppsFixture();
  azure.apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1' });
  azure.apps.seedRevision('web', { image: 'acme.azurecr.io/web:2.0.0', suffix: 'v2', label: 'candidate' });
  const withEnv = (ctx: StepContext): StepContext => ({ ...ctx, env: { ...ctx.env, ...azure.env } });
  return {
    clock: azure.clock,
    deps: (states) => azure.deps(states, { type: 'container-apps', app: 'web' }),
    create: (deps): TrafficRouter => {
      const r = router.create(router.configSchema.parse({ type: 'container-apps' }), deps);
      return { type: r.type, setWeights: (w, ctx) => r.setWeights(w, withEnv(ctx)), getWeights: (ctx) => r.getWeights(withEnv(ctx)), finalize: (ctx) => r.finalize(withEnv(ctx)) };
    },
    observe: () => azure.apps.view('web'),
    arrange(_states, found) {
      // Someone else's split, open before rollgate touches it.
      const app = azure.apps.world.get('rg-web', 'web');
      if (app) app.ingress.traffic = [{ revisionName: 'web--v1', weight: 100 - found.canary }, { revisionName: 'web--v2', weight: found.canary, label: 'candidate' }];
    },
    injectFault(operation) {
      azure.server.fail(/\/containerApps\/web$/, 503, 'ServiceUnavailable', 'The service is temporarily unavailable.', { method: operation === 'setWeights' ? 'PATCH' : 'GET', times: 6 });
      return true;
    },
    cleanup: azure.cleanup,
  } satisfies TrafficRouterFixture;
});
