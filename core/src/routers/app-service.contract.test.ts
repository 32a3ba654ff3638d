import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';
import { appServiceFixture } from '../testing/azure/app-service/fixture.js';
import { RESOURCE_GROUP } from '../testing/azure/base/fixture.js';
import { describeTrafficRouterContract } from '../testing/contracts/traffic-router.js';
import * as router from './app-service.js';

/*
 * The app-service router against the App Service double: production's routing rules of web app
 * `web`, the share going to its staging slot. The suite's contexts carry no environment, so the
 * service principal's variables are added to each, as the runner's job would have them. Someone
 * else's rules are kept apart by name (app-service.test.ts), so there is no split of theirs to
 * arrange here. Faults are ARM's 503 answers, as many as restCall's attempts.
 */
describeTrafficRouterContract('app-service', async () => {
  const azure = await appServiceFixture();
  const withEnv = (r: TrafficRouter): TrafficRouter => {
    const ctx = (c: StepContext): StepContext => ({ ...c, env: { ...c.env, ...azure.env } });
    return { type: r.type, setWeights: (w, c) => r.setWeights(w, ctx(c)), getWeights: (c) => r.getWeights(ctx(c)), finalize: (c) => r.finalize(ctx(c)) };
  };
  return {
    clock: azure.clock,
    deps: (states) => azure.deps(states, { type: 'app-service', app: 'web', slot: 'staging' }),
    create: (deps) => withEnv(router.create(router.configSchema.parse({ type: 'app-service' }), deps)),
    observe: () => azure.appService.world.site(RESOURCE_GROUP, 'web').rampUpRules,
    injectFault(operation) {
      // A finalize with nothing to restore reads production only: its read is what fails.
      azure.appService.failWhen(/\/sites\/web\/config\/web$/, operation === 'setWeights' ? 'PATCH' : 'GET', () => true, 6);
      return true;
    },
    cleanup: azure.cleanup,
  };
});
