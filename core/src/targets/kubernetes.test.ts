import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Target } from '../ports/target.js';
import { contractCall, providerFailure } from '../testing/contracts/kit.js';
import { kubernetesFixture, type KubernetesFixture, webDeployment } from '../testing/kubernetes/fixture.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as kubernetes from './kubernetes.js';
import { imageFor, repositoryOf, versionOfImage } from '../util/image-ref.js';

/* What the kubernetes target says when it cannot act, and how versions map to images. */
let k8s: KubernetesFixture;
beforeEach(async () => {
  k8s = await kubernetesFixture();
});
afterEach(() => k8s.cleanup());

const make = (fields: Record<string, unknown> = {}, states = new MemoryProviderStates()): Target =>
  kubernetes.create(kubernetes.configSchema.parse({ type: 'kubernetes', deployment: 'web', interval: '1s', ...fields }), k8s.deps(states));
const call = () => contractCall({ clock: k8s.clock });
const failure = providerFailure;

describe('versions and images', () => {
  it.each([
    ['registry.local/web:1.4.2', '1.4.2', 'registry.local/web'],
    ['localhost:5000/web:2', '2', 'localhost:5000/web'],
    ['localhost:5000/web', 'latest', 'localhost:5000/web'],
    ['nginx', 'latest', 'nginx'],
    ['web@sha256:abc', 'sha256:abc', 'web'],
  ])('%s runs version %s of %s', (image, version, repository) => {
    expect(versionOfImage(image)).toBe(version);
    expect(repositoryOf(image)).toBe(repository);
  });

  it.each([
    ['1.4.2', 'registry.local/web:1.4.2'],
    ['sha256:abc', 'registry.local/web@sha256:abc'],
    ['ghcr.io/acme/web:9', 'ghcr.io/acme/web:9'],
    ['other:3', 'other:3'],
  ])('version %s is image %s', (version, image) => {
    expect(imageFor(version, 'registry.local/web')).toBe(image);
  });

  it('a configured repository replaces the running one', async () => {
    k8s.server.seed(webDeployment());
    await make({ image: 'ghcr.io/acme/web' }).deploy('2.0.0', call().ctx);
    expect((await make().current(call().ctx))?.details).toMatchObject({ image: 'ghcr.io/acme/web:2.0.0', replicas: 3 });
  });
});

describe('errors a user can meet', () => {
  it('a Deployment that does not exist, with no manifest to create it from', async () => {
    expect((await failure(make().deploy('2.0.0', call().ctx))).message).toBe(
      'kubernetes target: Deployment default/web does not exist; create it first (kubectl apply), or give the target a manifest to create it from on a first deploy',
    );
    expect((await failure(make().revert({ version: '1.0.0' }, call().ctx))).message).toBe('kubernetes target: Deployment default/web does not exist');
    expect(await make().health(call().ctx)).toEqual({ healthy: false, ready: 0, total: 0, message: 'Deployment default/web does not exist' });
  });

  it('a container that is not there', async () => {
    k8s.server.seed(webDeployment());
    expect((await failure(make({ container: 'sidecar' }).deploy('2.0.0', call().ctx))).message).toBe("kubernetes target: Deployment default/web has no container 'sidecar' (its containers: app)");
    const bare = webDeployment('x:1', 1, 'bare');
    (bare.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers = [];
    k8s.server.seed(bare);
    expect((await failure(make({ deployment: 'bare' }).current(call().ctx))).message).toBe('kubernetes target: Deployment default/bare has no container');
  });

  it('a manifest that cannot be read, or is not a Deployment', async () => {
    expect((await failure(make({ manifest: 'nope.yaml' }).deploy('2.0.0', call().ctx))).message).toMatch(
      new RegExp(`^kubernetes target: cannot read the manifest ${join(k8s.dir, 'nope.yaml')}: ENOENT`),
    );
    writeFileSync(join(k8s.dir, 'svc.yaml'), 'kind: Service\nmetadata: { name: web }\n');
    expect((await failure(make({ manifest: 'svc.yaml' }).deploy('2.0.0', call().ctx))).message).toBe(
      `kubernetes target: the manifest ${join(k8s.dir, 'svc.yaml')} is not one Deployment (kind: Deployment)`,
    );
  });

  it('a rollout that outlasts rolloutTimeout names the wait and what to raise', async () => {
    k8s.server.seed(webDeployment());
    // Its progress deadline (60 s) would fail it later; the target's own limit comes first.
    expect((await failure(make({ rolloutTimeout: '5s' }).deploy('slow', call().ctx))).message).toBe(
      'kubernetes target: the rollout of Deployment default/web did not finish within 5s (3 old replicas of "web" pending termination); rolloutTimeout waits longer',
    );
  });

  it('a paused Deployment fails at once, saying to resume it', async () => {
    const paused = webDeployment();
    (paused.spec as Record<string, unknown>).paused = true;
    k8s.server.seed(paused);
    expect((await failure(make().deploy('2.0.0', call().ctx))).message).toBe(
      'kubernetes target: Deployment default/web is paused (spec.paused), so its rollout will not progress; resume it (kubectl -n default rollout resume deployment/web) and run again',
    );
  });

  it('a Deployment deleted while rollgate waits for it', async () => {
    k8s.server.seed(webDeployment());
    // Deleted once the rollout wait has begun (the call's first sleep).
    const waiting = contractCall({ clock: k8s.clock }, () => k8s.server.cluster.delete('deployments', 'default', 'web'));
    expect((await failure(make().deploy('slow', waiting.ctx))).message).toBe('kubernetes target: Deployment default/web was deleted while rollgate waited for its rollout');
  });

  it('a candidate with nothing to run beside, and a scale of a candidate that is not there', async () => {
    const target = make();
    expect((await failure((target.candidates as NonNullable<Target['candidates']>).deployCandidate('2.0.0', 1, call().ctx))).message).toBe(
      'kubernetes target: Deployment default/web does not exist, so there is nothing to run a candidate beside; create it first, or give the target a manifest',
    );
    k8s.server.seed(webDeployment());
    expect((await failure((target.candidates as NonNullable<Target['candidates']>).scale({ stable: 2, candidate: 1 }, call().ctx))).message).toBe(
      'kubernetes target: candidate Deployment default/web-candidate does not exist; start it before scaling it',
    );
  });

  it('a namespace that is not one of its namespaces', async () => {
    const target = make({ namespaces: ['a', 'b'] });
    expect((await failure((target.fleet as NonNullable<Target['fleet']>).deployUnit('c', '2.0.0', call().ctx))).message).toBe(
      'kubernetes target: namespace c is not one of its namespaces (a, b)',
    );
  });
});

describe('the candidate Deployment', () => {
  it('carries the stable labels but not a GitOps tool’s tracking labels', async () => {
    const web = webDeployment();
    (web.metadata as { labels: Record<string, string> }).labels = { app: 'web', team: 'shop', 'app.kubernetes.io/instance': 'shop-web', 'argocd.argoproj.io/instance': 'shop' };
    k8s.server.seed(web);
    await (make().candidates as NonNullable<Target['candidates']>).deployCandidate('2.0.0', 1, call().ctx);
    expect(k8s.server.cluster.get('deployments', 'default', 'web-candidate')?.metadata?.labels).toEqual({ app: 'web', team: 'shop', 'rollgate.io/track': 'candidate' });
  });
});

describe('an autoscaled Deployment', () => {
  it('leaves the stable replica count to its HorizontalPodAutoscaler, says so, and scales only the candidate', async () => {
    k8s.server.seed(webDeployment(), {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: 'default' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 10 },
    });
    const candidates = make().candidates as NonNullable<Target['candidates']>;
    await candidates.deployCandidate('2.0.0', 1, call().ctx);
    const warnings: string[] = [];
    const c = contractCall({ clock: k8s.clock, log: { info() {}, warn: (line) => warnings.push(line), output() {} } });
    await candidates.scale({ stable: 1, candidate: 2 }, c.ctx);
    expect(warnings).toEqual([
      'kubernetes: HorizontalPodAutoscaler default/web scales Deployment default/web (2–10 replicas): its replica count is left to the autoscaler, only the candidate is scaled to 2',
    ]);
    expect(c.changes).toEqual([{ object: 'deployment/default/web-candidate', field: 'replicas', before: 1, after: 2 }]);
    expect((k8s.server.cluster.get('deployments', 'default', 'web')?.spec as { replicas: number }).replicas).toBe(3);
  });
});

describe('a Deployment someone else changes during the rollout', () => {
  it('a revert puts back only the image rollgate replaced, keeping other changes, and refuses over an image someone else deployed', async () => {
    k8s.server.seed(webDeployment());
    const states = new MemoryProviderStates();
    await make({}, states).deploy('2.0.0', call().ctx);
    // Someone adds an environment variable: a revert keeps it.
    const web = () => k8s.server.cluster.get('deployments', 'default', 'web') as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    const edited = web();
    edited.spec.template.spec.containers[0] = { ...edited.spec.template.spec.containers[0], env: [{ name: 'FEATURE', value: 'on' }] };
    k8s.server.cluster.put('deployments', 'default', 'web', edited as never);
    await make({}, states.reopen()).revert({ version: '1.0.0' }, call().ctx);
    expect(web().spec.template.spec.containers[0]).toMatchObject({ image: 'registry.local/web:1.0.0', env: [{ name: 'FEATURE', value: 'on' }] });
    // Then someone deploys a hotfix: a revert to 1.0.0 would undo their work, so it is refused.
    await make({}, states.reopen()).deploy('2.0.0', call().ctx);
    const hotfix = web();
    hotfix.spec.template.spec.containers[0] = { ...hotfix.spec.template.spec.containers[0], image: 'registry.local/web:2.0.1-hotfix' };
    k8s.server.cluster.put('deployments', 'default', 'web', hotfix as never);
    expect((await failure(make({}, states.reopen()).revert({ version: '1.0.0' }, call().ctx))).message).toBe(
      'kubernetes target: Deployment default/web runs registry.local/web:2.0.1-hotfix, which rollgate did not set (it set registry.local/web:2.0.0): someone else deployed it since, so rollgate does not put registry.local/web:1.0.0 back over it; check it, and revert by hand if it should go',
    );
    expect(web().spec.template.spec.containers[0]?.image).toBe('registry.local/web:2.0.1-hotfix');
  });
});

describe('a stable Deployment someone else scales during the rollout', () => {
  it('keeps their replica count: removing the candidate does not put back the count from before', async () => {
    k8s.server.seed(webDeployment());
    const states = new MemoryProviderStates();
    const candidates = make({}, states).candidates as NonNullable<Target['candidates']>;
    await candidates.deployCandidate('2.0.0', 1, call().ctx);
    await candidates.scale({ stable: 2, candidate: 1 }, call().ctx);
    // On-call scales web up during an approval pause.
    const web = k8s.server.cluster.get('deployments', 'default', 'web') as { spec: { replicas: number } };
    k8s.server.cluster.put('deployments', 'default', 'web', { ...web, spec: { ...web.spec, replicas: 10 } });
    const warnings: string[] = [];
    const later = make({}, states.reopen()).candidates as NonNullable<Target['candidates']>;
    expect(await later.fullScale(call().ctx)).toBe(10);
    await later.removeCandidate(contractCall({ clock: k8s.clock, log: { info() {}, warn: (line) => warnings.push(line), output() {} } }).ctx);
    expect((k8s.server.cluster.get('deployments', 'default', 'web')?.spec as { replicas: number }).replicas).toBe(10);
    expect(warnings).toContain(
      'kubernetes: Deployment default/web has 10 replicas, not the 2 rollgate set: someone scaled it meanwhile, so rollgate leaves it at 10 instead of putting back 3',
    );
  });
});

describe('over several namespaces', () => {
  it('reports each namespace’s version, and a revert of the whole target puts each back as it was', async () => {
    for (const [ns, image] of [
      ['a', 'registry.local/web:1.0.0'],
      ['b', 'registry.local/web:1.1.0'],
    ] as const) {
      k8s.server.seed({ ...webDeployment(image), metadata: { name: 'web', namespace: ns, labels: { app: 'web' } } });
    }
    const states = new MemoryProviderStates();
    const target = make({ namespaces: ['a', 'b'] }, states);
    const previous = JSON.parse(JSON.stringify(await target.current(call().ctx)));
    expect(previous).toMatchObject({ version: '1.0.0', details: { versions: { a: '1.0.0', b: '1.1.0' } } });
    await target.deploy('2.0.0', call().ctx);
    expect(await target.health(call().ctx)).toEqual({ healthy: true, ready: 6, total: 6 });
    await make({ namespaces: ['a', 'b'] }, states.reopen()).revert(previous, call().ctx);
    const image = (ns: string) => (k8s.server.cluster.get('deployments', ns, 'web')?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]?.image;
    expect([image('a'), image('b')]).toEqual(['registry.local/web:1.0.0', 'registry.local/web:1.1.0']);
  });
});
