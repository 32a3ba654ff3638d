import { describeTrafficRouterContract } from '../testing/contracts/traffic-router.js';
import { kubernetesFixture } from '../testing/kubernetes/fixture.js';
import { gatewayController } from '../testing/kubernetes/gateway-controller.js';
import { httpRoute, service } from '../testing/kubernetes/routes.js';
import * as router from './gateway-api.js';

/*
 * The HTTPRoute `web` of the API double, one rule to the Service web-stable, with a Gateway
 * controller that accepts it at once (so getWeights reads a status that says "served"); someone
 * else's split is a canary backendRef already in the rule. Faults are the API's 503 answers.
 */
describeTrafficRouterContract(
  'gateway-api',
  async () => {
    const k8s = await kubernetesFixture();
    k8s.server.seed(service('web-stable'), service('web-canary'), httpRoute([{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web-stable', port: 80 }] }]));
    gatewayController(k8s.server);
    const methods = { setWeights: 'PUT', getWeights: 'GET', finalize: 'PUT' } as const;
    return {
      clock: k8s.clock,
      deps: k8s.deps,
      create: (deps) => router.create(router.configSchema.parse({ type: 'gateway-api', httpRoute: 'web', stableBackend: 'web-stable', canaryBackend: 'web-canary' }), deps),
      observe: () => k8s.server.cluster.get('httproutes', 'default', 'web')?.spec,
      arrange(_states, found) {
        k8s.server.seed(
          httpRoute([
            {
              matches: [{ path: { type: 'PathPrefix', value: '/' } }],
              backendRefs: [
                { name: 'web-stable', port: 80, weight: 100 - found.canary },
                { name: 'web-canary', port: 80, weight: found.canary },
              ],
            },
          ]),
        );
      },
      injectFault(operation) {
        // finalize of a fresh router touches nothing, so there is no request to fail.
        if (operation === 'finalize') return false;
        k8s.server.fail(/\/httproutes\/web$/, 503, { method: methods[operation] });
        return true;
      },
      cleanup: k8s.cleanup,
    };
  },
);
