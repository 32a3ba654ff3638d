import { describeTargetContract, type TargetFixture } from '../testing/contracts/target.js';
import { deploymentsView, kubernetesFixture } from '../testing/kubernetes/fixture.js';
import * as kubernetes from './kubernetes.js';

/*
 * The kubernetes target through the real @kubernetes/client-node against the API double, on a
 * virtual clock: pods take 2 s to start, images tagged `slow` never become ready. Faults are the
 * API's own 503 answers on the request only the faulted call makes.
 */
const config = kubernetes.configSchema.parse({ type: 'kubernetes', deployment: 'web', manifest: 'web.yaml', interval: '1s' });
const namespaces = kubernetes.configSchema.parse({ type: 'kubernetes', deployment: 'web', namespaces: ['team-a', 'team-b'], manifest: 'web.yaml', interval: '1s' });

describeTargetContract('kubernetes', kubernetes, () => fixture(config));
// The same Deployment in two namespaces: the units of a progressive rollout, and one target to every other strategy.
describeTargetContract('kubernetes over namespaces', kubernetes, () => fixture(namespaces));

async function fixture(targetConfig: kubernetes.KubernetesTargetConfig) {
  const k8s = await kubernetesFixture();
  const faults: Record<string, [RegExp, string] | undefined> = {
    current: [/\/deployments\/web$/, 'GET'],
    deploy: [/\/deployments\/web$/, 'GET'],
    revert: [/\/deployments\/web$/, 'DELETE'],
    revertUnit: [/\/deployments\/web$/, 'DELETE'],
    deployCandidate: [/\/deployments\/web-candidate$/, 'GET'],
    removeCandidate: [/\/deployments\/web-candidate$/, 'DELETE'],
  };
  return {
    clock: k8s.clock,
    deps: k8s.deps,
    create: (deps) => kubernetes.create(targetConfig, deps),
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
  } satisfies TargetFixture;
}
