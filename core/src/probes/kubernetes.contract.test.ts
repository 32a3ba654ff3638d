import { describeProbeContract } from '../testing/contracts/probe.js';
import { kubernetesFixture, webDeployment } from '../testing/kubernetes/fixture.js';
import * as kubernetes from './kubernetes.js';

/* Kubernetes probes through the real client against the API double: nodes Ready, a missing Deployment, a list that never answers. */
describeProbeContract('kubernetes', async () => {
  const k8s = await kubernetesFixture();
  k8s.server.seed(webDeployment());
  const probe = (fields: Record<string, unknown>) => kubernetes.configSchema.parse({ type: 'kubernetes', ...fields });
  return {
    clock: k8s.clock,
    deps: k8s.deps,
    working: (deps) => kubernetes.create(probe({ check: 'nodes' }), deps),
    failing: (deps) => kubernetes.create(probe({ check: 'deployment', deployment: 'missing' }), deps),
    hanging: (deps) => kubernetes.create(probe({ check: 'nodes', timeout: '1h' }), deps),
    hangingWaits: (abort) => k8s.server.hang(/\/nodes$/, { onArrival: abort }),
    observe: () => k8s.server.cluster.list('deployments').map((d) => d.spec),
    cleanup: k8s.cleanup,
  };
});
