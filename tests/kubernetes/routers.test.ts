import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { FileRunStore } from '../../core/src/engine/file-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { kubernetesFixture, type KubernetesFixture, webDeployment } from '../../core/src/testing/kubernetes/fixture.js';
import { gatewayController, type GatewayController } from '../../core/src/testing/kubernetes/gateway-controller.js';
import { httpRoute, service, virtualService } from '../../core/src/testing/kubernetes/routes.js';

/*
 * Canaries split by the gateway-api and istio routers, end to end through the engine, with the
 * real @kubernetes/client-node against the API double on a virtual clock: the weights verified
 * (waiting for a Gateway that reconciles late), a Gateway that cannot find the canary's Service
 * rolled back, and the route as it was found once the run ends.
 */
let k8s: KubernetesFixture;
let gateway: GatewayController;
const ROUTE = httpRoute([{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web', port: 80 }] }]);
const VS = virtualService([{ name: 'primary', route: [{ destination: { host: 'web', subset: 'stable' } }] }]);

beforeEach(async () => {
  k8s = await kubernetesFixture();
  k8s.server.seed(webDeployment('registry.local/web:1.0.0', 3), service('web'), service('web-canary'), ROUTE, VS);
  gateway = gatewayController(k8s.server);
});
afterEach(() => k8s.cleanup());

async function run(router: Record<string, unknown>) {
  const file = join(k8s.dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: '2.0.0' } },
      kubernetes: { kubeconfig: 'kubeconfig' },
      environments: { production: {} },
      stages: [
        {
          name: 'web',
          environment: 'production',
          target: { type: 'kubernetes', deployment: 'web', interval: '1s' },
          router,
          strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }, { setWeight: 50 }] },
          verify: { interval: '1s', timeout: '30s' },
        },
      ],
    }),
  );
  const events: RunEvent[] = [];
  const outcome = await runWorkflow({
    loaded: await loadWorkflowFile(file),
    store: new FileRunStore(join(k8s.dir, 'run.json')),
    context: { actor: 'alice', ci: 'local' },
    clock: k8s.clock,
    env: { PATH: process.env.PATH ?? '' },
    subscribers: [(e) => events.push(e)],
  });
  return { outcome, events };
}

const spec = (plural: string) => k8s.server.cluster.get(plural, 'default', 'web')?.spec;
const weightsSet = (events: RunEvent[], object: string) =>
  events.flatMap((e) => (e.kind === 'infra.changed' && e.change.object === object ? [JSON.stringify(e.change.after)] : []));
const lines = (events: RunEvent[]) => events.flatMap((e) => (e.kind === 'step.output' ? [e.line] : []));

describe('weighted Kubernetes routers, end to end on the API double', () => {
  it('gateway-api: each weight verified once the Gateway has reconciled it, the route put back as found after the promotion', async () => {
    gateway.lagMs = 3_000;
    const { outcome, events } = await run({ type: 'gateway-api', httpRoute: 'web', stableBackend: 'web', canaryBackend: 'web-canary' });
    expect(outcome.exitCode, JSON.stringify(events.filter((e) => e.kind === 'step.failed'))).toBe(0);
    expect(weightsSet(events, 'httproute/default/web')).toEqual([
      '[{"name":"web","port":80,"weight":80},{"name":"web-canary","port":80,"weight":20}]',
      '[{"name":"web","port":80,"weight":50},{"name":"web-canary","port":80,"weight":50}]',
      '[{"name":"web","port":80}]',
    ]);
    // The Gateway reconciles each new generation 3 s after it appears; verification polls every second.
    const waits = lines(events).filter((l) => l.startsWith('waiting for the router'));
    expect(waits).toEqual([...Array(3).fill('waiting for the router to send 20% (it reports nothing)'), ...Array(3).fill('waiting for the router to send 50% (it reports nothing)')]);
    expect(lines(events).filter((l) => l.startsWith('gateway-api router'))).toEqual([]);
    expect(spec('httproutes')).toEqual(ROUTE.spec);
    expect(k8s.server.cluster.get('deployments', 'default', 'web-candidate')).toBeUndefined();
  });

  it('gateway-api: a Gateway that cannot find the canary Service fails the weight at once, and the rollback puts the route back', async () => {
    k8s.server.cluster.delete('services', 'default', 'web-canary');
    const { outcome, events } = await run({ type: 'gateway-api', httpRoute: 'web', stableBackend: 'web', canaryBackend: 'web-canary' });
    expect(outcome.exitCode).toBe(1);
    expect(JSON.stringify(events.filter((e) => e.kind === 'step.failed'))).toContain('reports ResolvedRefs False (BackendNotFound): Service default/web-canary not found');
    // No poll until verify.timeout: the refusal is final.
    expect(lines(events).filter((l) => l.startsWith('waiting for the router'))).toEqual([]);
    expect(spec('httproutes')).toEqual(ROUTE.spec);
    expect(k8s.server.cluster.get('deployments', 'default', 'web-candidate')).toBeUndefined();
  });

  it('istio: the destinations weighted step by step, the VirtualService put back as found after the promotion', async () => {
    const { outcome, events } = await run({ type: 'istio', virtualService: 'web', stable: { host: 'web', subset: 'stable' }, canary: { host: 'web', subset: 'canary' } });
    expect(outcome.exitCode, JSON.stringify(events.filter((e) => e.kind === 'step.failed'))).toBe(0);
    expect(weightsSet(events, 'virtualservice/default/web')).toEqual([
      '[{"destination":{"host":"web","subset":"stable"},"weight":80},{"destination":{"host":"web","subset":"canary"},"weight":20}]',
      '[{"destination":{"host":"web","subset":"stable"},"weight":50},{"destination":{"host":"web","subset":"canary"},"weight":50}]',
      '[{"destination":{"host":"web","subset":"stable"}}]',
    ]);
    expect(spec('virtualservices')).toEqual(VS.spec);
  });
});
