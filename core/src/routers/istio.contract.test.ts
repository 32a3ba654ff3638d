import { describeTrafficRouterContract } from '../testing/contracts/traffic-router.js';
import { kubernetesFixture } from '../testing/kubernetes/fixture.js';
import { virtualService } from '../testing/kubernetes/routes.js';
import * as router from './istio.js';

/*
 * The VirtualService `web` of the API double, one http route to host web, subset stable; someone
 * else's split is a destination of subset canary already in it. Faults are the API's 503 answers.
 */
const route = (destinations: unknown[]) => virtualService([{ name: 'primary', match: [{ uri: { prefix: '/' } }], route: destinations }]);

describeTrafficRouterContract(
  'istio',
  async () => {
    const k8s = await kubernetesFixture();
    k8s.server.seed(route([{ destination: { host: 'web', subset: 'stable', port: { number: 80 } } }]));
    const methods = { setWeights: 'PUT', getWeights: 'GET', finalize: 'PUT' } as const;
    return {
      clock: k8s.clock,
      deps: k8s.deps,
      create: (deps) =>
        router.create(router.configSchema.parse({ type: 'istio', virtualService: 'web', stable: { host: 'web', subset: 'stable' }, canary: { host: 'web', subset: 'canary' } }), deps),
      observe: () => k8s.server.cluster.get('virtualservices', 'default', 'web')?.spec,
      arrange(_states, found) {
        k8s.server.seed(
          route([
            { destination: { host: 'web', subset: 'stable', port: { number: 80 } }, weight: 100 - found.canary },
            { destination: { host: 'web', subset: 'canary', port: { number: 80 } }, weight: found.canary },
          ]),
        );
      },
      injectFault(operation) {
        // finalize of a fresh router touches nothing, so there is no request to fail.
        if (operation === 'finalize') return false;
        k8s.server.fail(/\/virtualservices\/web$/, 503, { method: methods[operation] });
        return true;
      },
      cleanup: k8s.cleanup,
    };
  },
);
