import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cli, CLI, start, waitForOutput, workspace, writeWorkflow } from '../cli/support.js';
import { REPOSITORY, type SwarmDaemon, useSwarm } from './swarm/daemon.js';

/*
 * rollgate killed in the middle of a Swarm service update, then `rollgate resume`: the built CLI
 * as a user runs it, against a real Docker Swarm (Debian's docker.io daemon, started for this
 * file). Swarm goes on with the update after rollgate dies (it is Swarm's own rollout); resume
 * reads the run journal, sees the stage's process stopped mid-deploy, and rolls back: the spec
 * kept in the journal before the change goes back, and every task runs 1.0.0 again.
 */

const swarmd = useSwarm(async (daemon) => {
  await Promise.all([daemon.image('1.0.0'), daemon.image('2.0.0')]);
});

/** The image each task Swarm wants running runs, sorted. */
async function tasksOf(daemon: SwarmDaemon): Promise<string[]> {
  const found = await daemon.api<Array<{ Status: { State: string }; Spec: { ContainerSpec: { Image: string } } }>>(
    'GET',
    `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ['web'], 'desired-state': ['running'] }))}`,
  );
  return found.body.filter((t) => t.Status.State === 'running').map((t) => t.Spec.ContainerSpec.Image.split(':').at(-1) ?? '').sort();
}

const WORKFLOW = (host: string) => `
version: 1
name: web-swarm
inputs: { version: { default: 2.0.0 } }
swarm: { host: ${host} }
environments: { production: {} }
stages:
  - name: web
    environment: production
    # One task at a time, a second apart: the update lasts long enough to be killed in the middle.
    target: { type: swarm, service: web, interval: 200ms, update: { parallelism: 1, delay: 1s } }
    strategy: { type: direct }
`;

describe('a crash of rollgate in the middle of a Swarm update', () => {
  it('resume rolls the service back to 1.0.0 on every task, from the spec kept in the journal', { timeout: 180_000 }, async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
    const daemon = swarmd();
    await daemon.docker([
      'service', 'create', '--name', 'web', '--replicas', '3', '--network', 'host', '--endpoint-mode', 'dnsrr', '--env', `PORT_BASE=${daemon.portBase}`,
      '--health-cmd', '/bin/sh /health', '--health-interval', '250ms', '--health-retries', '2', '--stop-grace-period', '2s',
      '--update-order', 'start-first', '--update-monitor', '500ms', '--quiet', `${REPOSITORY}:1.0.0`,
    ]);
    const cwd = await workspace();
    try {
      const file = await writeWorkflow(cwd, 'rollgate.yml', WORKFLOW(daemon.host));
      const child = start(['run', file, '--state', 'run.json'], { cwd });
      await waitForOutput(child, (text) => /swarm: service web: 1 of 3 tasks run localhost:1\/app:2\.0\.0/.test(text), 60_000);
      child.kill('SIGKILL');
      const killed = await child.result;
      expect(killed.code, 'the run was killed, not finished').toBeNull();
      // Swarm carries on with its update without rollgate.
      const spec = await daemon.api<{ Spec: { TaskTemplate: { ContainerSpec: { Image: string } } } }>('GET', '/services/web');
      expect(spec.body.Spec.TaskTemplate.ContainerSpec.Image).toBe(`${REPOSITORY}:2.0.0`);

      const resumed = await cli(['resume', '--state', 'run.json'], { cwd });
      expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(1);
      expect(resumed.stdout).toMatch(/rolling back .* because the process running this stage stopped/);
      expect(resumed.stdout).toContain(`service/web image ${REPOSITORY}:2.0.0 -> ${REPOSITORY}:1.0.0`);
      expect(await tasksOf(daemon)).toEqual(['1.0.0', '1.0.0', '1.0.0']);
      const again = await cli(['resume', '--state', 'run.json'], { cwd });
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/already ended \(rolled-back\)/);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
