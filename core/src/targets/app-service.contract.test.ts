import { appServiceFixture, productionView } from '../testing/azure/app-service/fixture.js';
import { describeTargetContract, type TargetFixture } from '../testing/contracts/target.js';
import * as appService from './app-service.js';

/*
 * The app-service target against the ARM double (App Service's documented paths, tokens from the
 * double's Entra ID endpoint), on a virtual clock: a slot warms up 20 s after its image changed,
 * an image tagged `bad` never answers healthily (the slow version), a swap completes at its third
 * poll. Faults are ARM's own 503 answers, as many as restCall's attempts, met only by the call under
 * test (not by the deploys that arranged it).
 *
 * What the suite observes is what serves traffic: production's image and state and the routing
 * rules. The slot is App Service's staging area: after a swap back it holds the version that was
 * reverted, as it does after any swap back in the portal, and takes no traffic
 * (app-service.test.ts checks what it holds).
 */
const config = appService.configSchema.parse({ type: 'app-service', app: 'web', image: 'registry.local/web', healthPath: '/health', interval: '1s', timeout: '2m' });

describeTargetContract('app-service', appService, async () => {
  const azure = await appServiceFixture('', '');
  const production = () => azure.image() !== '';
  const candidate = () => azure.image('staging') === 'registry.local/web:2.0.0';
  // Each fault is met only by the call under test, not by the deploys that arranged it.
  const faults: Record<string, [RegExp, string, () => boolean] | undefined> = {
    current: [/\/sites\/web$/, 'GET', () => true],
    deploy: [/\/sites\/web$/, 'GET', () => true],
    health: [/\/sites\/web$/, 'GET', production],
    revert: [/\/sites\/web$/, 'GET', production],
    deployCandidate: [/\/slots\/staging$/, 'GET', production],
    removeCandidate: [/\/sites\/web\/config\/web$/, 'GET', candidate],
  };
  return {
    clock: azure.clock,
    env: azure.env,
    deps: (states) => azure.deps(states),
    create: (deps) => appService.create(config, deps),
    versions: ['1.0.0', '2.0.0'],
    slowVersion: 'bad',
    observe: () => productionView(azure),
    injectFault(operation) {
      const fault = faults[operation];
      if (!fault) return false;
      // restCall retries a 503 six times in all: the fault outlasts them.
      azure.appService.failWhen(fault[0], fault[1], fault[2], 6);
      return true;
    },
    cleanup: azure.cleanup,
  } satisfies TargetFixture;
});
