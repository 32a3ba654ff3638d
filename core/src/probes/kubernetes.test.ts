import { afterEach, describe, expect, it } from 'vitest';
import { contractCall } from '../testing/contracts/kit.js';
import { kubernetesFixture, type KubernetesFixture, webDeployment } from '../testing/kubernetes/fixture.js';
import type { NodeSpec } from '../testing/kubernetes/cluster.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as kubernetes from './kubernetes.js';

/* What each check measures, on the API double's cluster (nodes of 4 CPUs and 8 GiB unless said). */
let k8s: KubernetesFixture | undefined;
afterEach(() => k8s?.cleanup());

async function cluster(nodes?: NodeSpec[]) {
  k8s = await kubernetesFixture(nodes ? { nodes } : {});
  return k8s;
}
async function check(fields: Record<string, unknown>) {
  const f = k8s as KubernetesFixture;
  const probe = kubernetes.create(kubernetes.configSchema.parse({ type: 'kubernetes', ...fields }), f.deps(new MemoryProviderStates()));
  return probe.check(contractCall({ clock: f.clock }).ctx);
}

describe('kubernetes probe', () => {
  it('capacity: free CPU and memory after the requests of the pods bound to each node', async () => {
    const f = await cluster();
    f.server.seed(webDeployment());
    const free = await check({ check: 'capacity' });
    expect(free).toMatchObject({ ok: true, value: 8000 - 3 * 250, details: { freeCpuMillis: 7250, freeMemoryMiB: 2 * 8192 - 3 * 128, nodes: 2 } });
  });

  it('capacity of a Deployment: how many more of its pods fit, node by node', async () => {
    const f = await cluster([{ name: 'a', cpuMillis: 1000 }, { name: 'b', cpuMillis: 600 }, { name: 'down', ready: false }]);
    f.server.seed(webDeployment('registry.local/web:1.0.0', 2));
    // a holds both pods (500m left: 2 more); b: 600m, 2 more; the node that is not Ready counts for nothing.
    expect(await check({ check: 'capacity', deployment: 'web' })).toMatchObject({ ok: true, value: 4, details: { nodes: 2, podCpuMillis: 250, podMemoryMiB: 128 } });
    expect(await check({ check: 'capacity', deployment: 'api' })).toMatchObject({
      ok: false,
      value: null,
      error: 'kubernetes capacity probe: Deployment default/api does not exist, so the room for its pods is unknown',
    });
  });

  it('deployment: ok once its rollout is done, with its replica counts', async () => {
    const f = await cluster();
    f.server.seed(webDeployment());
    expect(await check({ check: 'deployment', deployment: 'web' })).toMatchObject({ ok: true, value: 3, details: { replicas: 3, available: 3, rollout: 'done' } });
    // An update whose pods never become ready: the old ones keep serving.
    f.server.cluster.put('deployments', 'default', 'web', webDeployment('registry.local/web:slow'));
    expect(await check({ check: 'deployment', deployment: 'web' })).toMatchObject({ ok: false, value: 3, error: 'kubernetes deployment probe: 3 old replicas of "web" pending termination' });
    expect(await check({ check: 'deployment', deployment: 'nope' })).toMatchObject({ ok: false, value: 0, error: 'kubernetes deployment probe: Deployment default/nope does not exist' });
  });

  it('nodes: ok when every node is Ready, naming those that are not', async () => {
    await cluster([{ name: 'a' }, { name: 'b', ready: false }, { name: 'c', ready: false }]);
    expect(await check({ check: 'nodes' })).toMatchObject({ ok: false, value: 1, error: 'kubernetes nodes probe: nodes not Ready: b, c', details: { ready: 1, total: 3, notReady: 'b,c' } });
    await k8s?.cleanup();
    await cluster([]);
    expect(await check({ check: 'nodes' })).toMatchObject({ ok: false, value: 0, error: 'kubernetes nodes probe: the cluster has no nodes' });
  });

  it('pending-pods: pods that wait for room, counted in a namespace or everywhere', async () => {
    const f = await cluster([{ name: 'small', cpuMillis: 500 }]);
    f.server.seed(webDeployment('registry.local/web:1.0.0', 3));
    expect(await check({ check: 'pending-pods' })).toMatchObject({ ok: true, value: 1, details: { pending: 1, unschedulable: 1 } });
    expect(await check({ check: 'pending-pods', namespace: 'other' })).toMatchObject({ ok: true, value: 0 });
  });

  it('a probe that gets no answer within its timeout says so', async () => {
    const f = await cluster();
    f.server.hang(/\/nodes$/);
    const result = await check({ check: 'nodes', timeout: '50ms' });
    expect(result).toMatchObject({ ok: false, value: null, error: 'kubernetes nodes probe: no answer within 50ms' });
  });

  it('an API error is the probe’s error, naming the call', async () => {
    const f = await cluster();
    f.server.token = 'rotated';
    expect((await check({ check: 'nodes' })).error).toBe(
      'kubernetes nodes probe: kubernetes: cannot list Nodes (401 Unauthorized): the credentials were refused (expired or wrong token or certificate): refresh the kubeconfig or the CI secret that writes it',
    );
  });

  it('the deployment check needs a deployment', () => {
    const parsed = kubernetes.configSchema.safeParse({ type: 'kubernetes', check: 'deployment' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['deployment'], message: 'the deployment check needs `deployment`' });
  });
});
