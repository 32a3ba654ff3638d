import { describeTargetContract } from '../testing/contracts/target.js';
import { deploymentsView, kubernetesFixture } from '../testing/kubernetes/fixture.js';
import * as kubernetes from './kubernetes.js';

/*
 * The kubernetes target through the real @kubernetes/client-node against the API double, on a
 * virtual clock: pods take 2 s to start, images tagged `slow` never become ready. Faults are the
 * API's own 503 answers on the request only the faulted call makes.
 */
const config = kubernetes.configSchema.parse({ type: 'kubernetes', deployment: 'web', manifest: 'web.yaml', interval: '1s' });

describeTargetContract('kubernetes', kubernetes, async () => {
  const k8s = await kubernetesFixture();
  const faults: Record<string, [RegExp, string] | undefined> = {
    current: [/\/deployments\/web$/, 'GET'],
    deploy: [/\/deployments\/web$/, 'GET'],
    revert: [/\/deployments\/web$/, 'DELETE'],
    deployCandidate: [/\/deployments\/web-candidate$/, 'GET'],
    removeCandidate: [/\/deployments\/web-candidate$/, 'DELETE'],
  };
  return {
    clock: k8s.clock,
    deps: k8s.deps,
    create: (deps) => kubernetes.create(config, deps),
    versions: ['1.0.0', '2.0.0'],
    slowVersion: 'slow',
    observe: () => deploymentsView(k8s.server),
    injectFault(operation) {
      const fault = faults[operation];
      if (!fault) return false;
      k8s.server.fail(fault[0], 503, { method: fault[1] });
      return true;
    },
    cleanup: k8s.cleanup,
  };
});
