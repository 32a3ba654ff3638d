import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import { kubernetesFixture, type KubernetesFixture } from '../../core/src/testing/kubernetes/fixture.js';
import type { KubeObject } from '../../core/src/testing/kubernetes/cluster.js';
import { ROOT } from '../cli/support.js';

/*
 * The Kubernetes examples run as the README shows them, against the API double: a kubeconfig
 * whose context is `production` (in KUBECONFIG, as on a runner), the manifests of
 * examples/kubernetes/manifests applied, and the version a person would pass.
 */
const EXAMPLES = join(ROOT, 'examples/kubernetes');
const manifest = (name: string) => parse(readFileSync(join(EXAMPLES, 'manifests', name), 'utf8')) as KubeObject;

let k8s: KubernetesFixture;
beforeEach(async () => {
  k8s = await kubernetesFixture();
  writeFileSync(k8s.kubeconfig, k8s.server.kubeconfig('production'));
  k8s.server.seed(manifest('web-deployment.yaml'), manifest('web-service.yaml'));
});
afterEach(() => k8s.cleanup());

async function example(name: string, version: string) {
  const loaded = await loadWorkflowFile(join(EXAMPLES, name));
  loaded.workflow.audit.sinks = [];
  return runWorkflow({
    loaded,
    store: new MemoryRunStore(),
    context: { actor: 'alice', ci: 'local' },
    inputs: { version },
    clock: k8s.clock,
    env: { PATH: process.env.PATH ?? '', KUBECONFIG: k8s.kubeconfig },
  });
}
const image = (namespace = 'shop') =>
  (k8s.server.cluster.get('deployments', namespace, 'web')?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]?.image;

describe('examples/kubernetes', () => {
  it.each(['canary.yml', 'blue-green.yml', 'auto.yml'])('%s rolls out ghcr.io/acme/web:1.4.2', async (name) => {
    const outcome = await example(name, '1.4.2');
    expect(outcome.exitCode, JSON.stringify(outcome.journal.stages, null, 1).slice(0, 3000)).toBe(0);
    expect(image()).toBe('ghcr.io/acme/web:1.4.2');
    expect(k8s.server.cluster.get('deployments', 'shop', 'web-candidate')).toBeUndefined();
    expect((k8s.server.cluster.get('services', 'shop', 'web')?.spec as { selector: unknown }).selector).toEqual({ app: 'web', 'rollgate.io/track': 'stable' });
  });

  it('canary.yml with a version whose pods never become ready: web is untouched, exit 1', async () => {
    const outcome = await example('canary.yml', 'slow');
    expect(outcome.exitCode).toBe(1);
    expect(image()).toBe('ghcr.io/acme/web:1.4.1');
    expect(k8s.server.cluster.get('deployments', 'shop', 'web-candidate')).toBeUndefined();
  });

  it('blue-green.yml is refused before anything changes when there is no room for a second copy', async () => {
    k8s.server.cluster.nodes.splice(0, 2, { name: 'small', cpuMillis: 1500 });
    const outcome = await example('blue-green.yml', '1.4.2');
    expect(outcome.exitCode).toBe(1);
    expect(JSON.stringify(outcome.journal.stages.web)).toContain('room for a second copy of web (4 pods)');
    expect(image()).toBe('ghcr.io/acme/web:1.4.1');
    expect(k8s.server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('progressive-namespaces.yml rolls tenant by tenant', async () => {
    const tenants = ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d'];
    const web = manifest('web-deployment.yaml');
    for (const ns of tenants) k8s.server.seed({ ...web, metadata: { ...web.metadata, namespace: ns } });
    const outcome = await example('progressive-namespaces.yml', '1.4.2');
    expect(outcome.exitCode).toBe(0);
    expect(tenants.map((ns) => image(ns))).toEqual(tenants.map(() => 'ghcr.io/acme/web:1.4.2'));
    const waves = Object.keys(outcome.journal.stages.web?.steps ?? {}).length;
    expect(waves).toBeGreaterThan(0);
  });
});
