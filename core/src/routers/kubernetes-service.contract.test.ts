import { describeTrafficRouterContract } from '../testing/contracts/traffic-router.js';
import { kubernetesFixture } from '../testing/kubernetes/fixture.js';
import * as router from './kubernetes-service.js';

/* The Service `web` of the API double, selecting the stable pods; faults are the API's 503 answers. */
describeTrafficRouterContract(
  'kubernetes-service',
  async () => {
    const k8s = await kubernetesFixture();
    k8s.server.seed({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    const methods = { setWeights: 'PATCH', getWeights: 'GET', finalize: 'PATCH' } as const;
    return {
      clock: k8s.clock,
      deps: k8s.deps,
      create: (deps) => router.create(router.configSchema.parse({ type: 'kubernetes-service', service: 'web' }), deps),
      observe: () => (k8s.server.cluster.get('services', 'default', 'web')?.spec as { selector?: unknown }).selector,
      injectFault(operation) {
        // finalize of a fresh router touches nothing, so there is no request to fail.
        if (operation === 'finalize') return false;
        k8s.server.fail(/\/services\/web$/, 503, { method: methods[operation] });
        return true;
      },
      cleanup: k8s.cleanup,
    };
  },
  router,
);
