import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { resumeRun, runWorkflow } from '../../core/src/engine/executor.js';
import { FileRunStore } from '../../core/src/engine/file-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { kubernetesFixture, type KubernetesFixture, webDeployment } from '../../core/src/testing/kubernetes/fixture.js';

/*
 * Every strategy on Kubernetes, end to end through the engine, with the real @kubernetes/client-node
 * against the API double on a virtual clock (pods start in 2 s of it; an image tagged `slow` never
 * becomes ready, and its Deployment's 60 s progress deadline passes). What a user would check
 * after a run is checked on the double's objects: images, replicas, selectors.
 */
let k8s: KubernetesFixture;
beforeEach(async () => {
  k8s = await kubernetesFixture();
  k8s.server.seed(webDeployment('registry.local/web:1.0.0', 3), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web', 'rollgate.io/track': 'stable' }, ports: [{ port: 80 }] },
  });
});
afterEach(() => k8s.cleanup());

const target = { type: 'kubernetes', deployment: 'web', interval: '1s' };

async function run(stage: Record<string, unknown>, extra: Record<string, unknown> = {}, version = '2.0.0') {
  const file = join(k8s.dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: version } },
      kubernetes: { kubeconfig: 'kubeconfig' },
      environments: { production: {} },
      ...extra,
      stages: [{ name: 'web', environment: 'production', target, verify: { interval: '5s', timeout: '30s' }, ...stage }],
    }),
  );
  const events: RunEvent[] = [];
  const store = new FileRunStore(join(k8s.dir, 'run.json'));
  const loaded = await loadWorkflowFile(file);
  const outcome = await runWorkflow({ loaded, store, context: { actor: 'alice', ci: 'local' }, clock: k8s.clock, env: { PATH: process.env.PATH ?? '' }, subscribers: [(e) => events.push(e)] });
  return { outcome, events, store, loaded };
}

const deployment = (name: string, namespace = 'default') => k8s.server.cluster.get('deployments', namespace, name);
const imageOf = (name: string, namespace = 'default') =>
  ((deployment(name, namespace)?.spec as { template: { spec: { containers: { image: string }[] } } } | undefined)?.template.spec.containers[0]?.image);
const replicasOf = (name: string) => (deployment(name)?.spec as { replicas?: number } | undefined)?.replicas;
const selector = () => (k8s.server.cluster.get('services', 'default', 'web')?.spec as { selector: Record<string, string> }).selector;
const changed = (events: RunEvent[]) =>
  events.flatMap((e) => (e.kind === 'infra.changed' ? [`${e.change.object} ${e.change.field}: ${JSON.stringify(e.change.before)} -> ${JSON.stringify(e.change.after)}`] : []));

describe('kubernetes, end to end on the API double', () => {
  it('direct: sets the image, waits for the rollout, and records the change', async () => {
    const { outcome, events } = await run({});
    expect(outcome.exitCode, JSON.stringify(events.filter((e) => e.kind.includes('fail') || e.kind.includes('rollback')), null, 1)).toBe(0);
    expect(imageOf('web')).toBe('registry.local/web:2.0.0');
    expect(changed(events)).toEqual(['deployment/default/web image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"']);
  });

  it('canary by replicas (no router): a candidate Deployment beside the stable one, promoted at the end', async () => {
    const { outcome, events } = await run({ strategy: { type: 'canary', steps: [{ setWeight: 25 }, { pause: { duration: '1m' } }, { setWeight: 50 }] } });
    expect(outcome.exitCode).toBe(0);
    expect(imageOf('web')).toBe('registry.local/web:2.0.0');
    expect(replicasOf('web')).toBe(3);
    expect(deployment('web-candidate')).toBeUndefined();
    expect(changed(events)).toEqual([
      'deployment/default/web-candidate created: null -> "registry.local/web:2.0.0"',
      // 25 % of 3 replicas: one candidate beside two stable ones; 50 %: two beside one.
      'deployment/default/web replicas: 3 -> 2',
      'deployment/default/web replicas: 2 -> 1',
      'deployment/default/web-candidate replicas: 1 -> 2',
      // The promotion: the stable Deployment takes the image and its three replicas back.
      'deployment/default/web image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"',
      'deployment/default/web-candidate created: "registry.local/web:2.0.0" -> null',
    ]);
  });

  it('canary whose version never becomes ready: its progress deadline passes and the candidate is removed, the stable untouched', async () => {
    const { outcome, events } = await run({ strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 50 }] } }, {}, 'slow');
    expect(outcome.exitCode).toBe(1);
    const failed = events.find((e) => e.kind === 'step.failed');
    expect(failed && 'error' in failed ? failed.error : '').toContain(
      'kubernetes target: deployment "web-candidate" exceeded its progress deadline (ReplicaSet "web-candidate" has timed out progressing.): its new pods did not become available (see `kubectl -n default describe deployment web-candidate`',
    );
    expect(deployment('web-candidate')).toBeUndefined();
    expect(imageOf('web')).toBe('registry.local/web:1.0.0');
    expect(replicasOf('web')).toBe(3);
  });

  it('blue-green through the Service selector: green behind the candidate labels, switched, promoted, the selector put back', async () => {
    const seen: Record<string, string>[] = [];
    k8s.server.cluster.nodes.push({ name: 'node-3' });
    const { outcome, events } = await run({
      router: { type: 'kubernetes-service', service: 'web' },
      strategy: { type: 'blue-green', scaleDownDelay: '0s' },
      verify: { interval: '5s', timeout: '30s' },
    });
    for (const e of events) if (e.kind === 'infra.changed' && e.change.object === 'service/default/web') seen.push(e.change.after as Record<string, string>);
    expect(outcome.exitCode).toBe(0);
    expect(seen).toEqual([
      { app: 'web', 'rollgate.io/track': 'candidate' },
      { app: 'web', 'rollgate.io/track': 'stable' },
    ]);
    expect(imageOf('web')).toBe('registry.local/web:2.0.0');
    expect(selector()).toEqual({ app: 'web', 'rollgate.io/track': 'stable' });
    expect(deployment('web-candidate')).toBeUndefined();
    // No moment without pods behind the Service: blue takes the new image, the selector goes back
    // to it, and only then is green deleted.
    expect(changed(events).slice(-3)).toEqual([
      'deployment/default/web image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"',
      'service/default/web selector: {"app":"web","rollgate.io/track":"candidate"} -> {"app":"web","rollgate.io/track":"stable"}',
      'deployment/default/web-candidate created: "registry.local/web:2.0.0" -> null',
    ]);
  });

  it('blue-green behind a Service that also selects the candidate: the run log says green took traffic unverified, and what to add', async () => {
    k8s.server.seed({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' } } });
    const { outcome, events } = await run({ router: { type: 'kubernetes-service', service: 'web' }, strategy: { type: 'blue-green', scaleDownDelay: '0s' } });
    expect(outcome.exitCode).toBe(0);
    expect(events.flatMap((e) => (e.kind === 'step.output' && e.stream === 'stderr' ? [e.line] : []))).toContain(
      'kubernetes-service router: the selector of Service default/web ({"app":"web"}) also selects the pods of web-candidate, so they took traffic before the switch, unverified; give the stable pods a label the candidate replaces (such as rollgate.io/track: stable) and add it to the selector',
    );
  });

  it('auto: blue-green when the cluster has room for a second copy, a rolling update when it has not', async () => {
    // Two nodes of 1 CPU: web's three pods of 250m leave room for 5 more.
    k8s.server.cluster.nodes.splice(0, 2, { name: 'node-1', cpuMillis: 1000 }, { name: 'node-2', cpuMillis: 1000 });
    const probes = { room: { type: 'kubernetes', check: 'capacity', deployment: 'web' } };
    // Room for a second copy: blue-green; else Kubernetes' own rolling update, which needs room for one pod at a time.
    const strategy = { type: 'auto', rules: [{ when: 'probes.room.value >= 3', use: { type: 'blue-green', scaleDownDelay: '0s' } }], otherwise: { type: 'direct' } };
    const router = { type: 'kubernetes-service', service: 'web' };
    const roomy = await run({ strategy, router }, { probes });
    expect(roomy.outcome.exitCode).toBe(0);
    const chosen = roomy.events.find((e) => e.kind === 'decision.made');
    expect(JSON.stringify(chosen)).toContain('blue-green');
    // Other work takes most of the room: a pod of 800m leaves room for 1 more pod of web, not 3.
    const batch = webDeployment('registry.local/batch:1', 1, 'batch');
    (batch.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers = [{ name: 'batch', image: 'registry.local/batch:1', resources: { requests: { cpu: '800m', memory: '1Gi' } } }];
    k8s.server.seed(batch);
    const tight = await run({ strategy, router }, { probes }, '3.0.0');
    expect(tight.outcome.exitCode).toBe(0);
    expect(JSON.stringify(tight.events.find((e) => e.kind === 'decision.made'))).toContain('direct');
    expect(imageOf('web')).toBe('registry.local/web:3.0.0');
  });

  it('progressive over namespaces: a namespace whose API refuses the change stops the rollout, and exactly the namespaces changed are put back', async () => {
    for (const ns of ['team-a', 'team-b', 'team-c']) k8s.server.seed({ ...webDeployment(), metadata: { name: 'web', namespace: ns, labels: { app: 'web' } } });
    k8s.server.fail(/namespaces\/team-b\/deployments\/web$/, 403, { method: 'PUT', times: 1 });
    const { outcome, events } = await run({
      target: { ...target, namespaces: ['team-a', 'team-b', 'team-c'] },
      strategy: { type: 'progressive', waves: [1, 2, 3], maxParallel: 1 },
    });
    expect(outcome.exitCode).toBe(1);
    expect(imageOf('web', 'team-a')).toBe('registry.local/web:1.0.0');
    expect(imageOf('web', 'team-b')).toBe('registry.local/web:1.0.0');
    expect(imageOf('web', 'team-c')).toBe('registry.local/web:1.0.0');
    expect(changed(events)).toEqual([
      'deployment/team-a/web image: "registry.local/web:1.0.0" -> "registry.local/web:2.0.0"',
      'deployment/team-a/web image: "registry.local/web:2.0.0" -> "registry.local/web:1.0.0"',
    ]);
    expect(JSON.stringify(events.filter((e) => e.kind === 'step.failed'))).toContain('cannot update Deployment team-b/web (403 Forbidden)');
  });

  it('a write that meets a concurrent change (409) is read again and retried, never overwritten blindly', async () => {
    k8s.server.writeConcurrently(/deployments\/web$/, { times: 2 });
    const { outcome, events } = await run({});
    expect(outcome.exitCode).toBe(0);
    expect(imageOf('web')).toBe('registry.local/web:2.0.0');
    expect(k8s.server.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/deployments/web'))).toHaveLength(3);
    const logged = events.flatMap((e) => (e.kind === 'step.output' ? [e.line] : []));
    expect(logged).toContain('kubernetes: Deployment default/web changed while rollgate wrote it (409 Conflict): reading it again (attempt 2 of 5)');
  });

  it('credentials that expire mid-run: the rollback cannot finish either, and the run says a human is needed, naming the object', async () => {
    const stage = { strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 50 }, { pause: { duration: '1m' } }] }, monitor: { interval: '10s', failureThreshold: 1 } };
    k8s.server.cluster.nodes.length = 1;
    // After the candidate starts, the token is revoked: every later call is refused.
    const revoke = setInterval(() => {
      if (k8s.server.cluster.get('deployments', 'default', 'web-candidate')) k8s.server.token = 'revoked';
    }, 1);
    try {
      const { outcome } = await run(stage);
      expect(outcome.exitCode).toBe(4);
      expect(outcome.status).toBe('manual-intervention-required');
      expect(JSON.stringify(outcome.journal)).toContain('401 Unauthorized');
    } finally {
      clearInterval(revoke);
    }
    expect(deployment('web-candidate')).toBeDefined();
  });

  it('a run stopped at an approval resumes in a new process from the journal and the kept objects', async () => {
    const stage = { strategy: { type: 'canary', steps: [{ setWeight: 50 }, { approval: {} }] } };
    const first = await run(stage);
    expect(first.outcome.exitCode).toBe(3);
    expect(deployment('web-candidate')).toBeDefined();
    const events: RunEvent[] = [];
    const resumed = await resumeRun({
      loaded: first.loaded,
      store: first.store,
      context: { actor: 'bob', ci: 'local' },
      clock: k8s.clock,
      env: { PATH: process.env.PATH ?? '' },
      decision: { approve: true, by: 'bob' },
      subscribers: [(e: RunEvent) => events.push(e)],
    });
    expect(resumed.exitCode).toBe(0);
    expect(imageOf('web')).toBe('registry.local/web:2.0.0');
    expect(deployment('web-candidate')).toBeUndefined();
  });
});
