import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVirtualClock, type VirtualClock } from '../../clocks/virtual.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import { fakeDeps } from '../fakes.js';
import { KubernetesServer, type KubernetesServerOptions } from '../kubernetes-server.js';
import type { MemoryProviderStates } from '../state.js';
import type { KubeObject } from './cluster.js';

/** A Deployment manifest as a user keeps one: app `web`, its stable pods labelled track=stable. */
export function webDeployment(image = 'registry.local/web:1.0.0', replicas = 3, name = 'web'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      replicas,
      progressDeadlineSeconds: 60,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, 'rollgate.io/track': 'stable' } },
        spec: { containers: [{ name: 'app', image, resources: { requests: { cpu: '250m', memory: '128Mi' } } }] },
      },
    },
  };
}

export interface KubernetesFixture {
  server: KubernetesServer;
  clock: VirtualClock;
  dir: string;
  /** The kubeconfig file naming the double. */
  kubeconfig: string;
  /** Deps whose `kubernetes` settings name the double's kubeconfig, on the virtual clock. */
  deps(states: MemoryProviderStates): ProviderDeps;
  cleanup(): Promise<void>;
}

/**
 * The Kubernetes API double on a virtual clock (pods start in 2 s of it; images tagged `slow` never
 * become ready), with its kubeconfig and a Deployment manifest (`web.yaml`) in a temp dir.
 */
export async function kubernetesFixture(options: KubernetesServerOptions = {}): Promise<KubernetesFixture> {
  const clock = createVirtualClock();
  const server = await new KubernetesServer({ now: () => clock.now(), neverReady: (image) => image.endsWith(':slow'), token: 'double-token', ...options }).start();
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-k8s-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig());
  writeFileSync(join(dir, 'web.yaml'), JSON.stringify(webDeployment()));
  return {
    server,
    clock,
    dir,
    kubeconfig,
    deps: (states) => fakeDeps({ workDir: dir, clock, environment: 'production' }, { states, settings: { kubernetes: { kubeconfig, inCluster: false } } }),
    cleanup: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Deployments as they stand (spec only: status and versions move by themselves), by name. */
export function deploymentsView(server: KubernetesServer): unknown {
  return server.cluster
    .list('deployments')
    .map((d) => ({ name: `${String(d.metadata?.namespace)}/${String(d.metadata?.name)}`, spec: d.spec, labels: d.metadata?.labels }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
