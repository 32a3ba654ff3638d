import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRealClock, loadWorkflowFile, MemoryRunStore, runWorkflow } from '../../core/src/index.js';
import { ROOT } from '../cli/support.js';
import { runE2E } from './e2e/app-fleet.js';
import { REPOSITORY, type SwarmDaemon, useSwarm } from './swarm/daemon.js';

/*
 * rollgate on a real Docker Swarm (Debian's docker.io daemon, started for this file), through the
 * public API on the real clock, as a user runs a workflow: a service the user created with
 * `docker service create`, a rolling update that succeeds, one whose new version fails its health
 * check (Swarm rolls it back, rollgate reports it), and a canary whose share of traffic follows its
 * replicas (there is no router). What serves is read from the tasks' own HTTP answers.
 */

let dir: string;
const swarmd = useSwarm(async (daemon) => {
  await Promise.all([daemon.image('1.0.0'), daemon.image('2.0.0'), daemon.image('3.0.0', 'bad')]);
});
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-swarm-e2e-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** `web` on 1.0.0 with `replicas`, created as a user does, once the previous case's services are gone. */
async function webOnV1(daemon: SwarmDaemon, replicas: number): Promise<void> {
  for (const name of ['web', 'web-candidate']) await daemon.api('DELETE', `/services/${name}`);
  await eventually(() => daemon.served(), []);
  await daemon.docker([
    'service', 'create', '--name', 'web', '--replicas', String(replicas), '--network', 'host', '--endpoint-mode', 'dnsrr',
    '--env', `PORT_BASE=${daemon.portBase}`, '--health-cmd', '/bin/sh /health', '--health-interval', '250ms', '--health-retries', '2', '--health-timeout', '30s',
    '--stop-grace-period', '2s', '--update-order', 'start-first', '--update-monitor', '500ms', '--quiet', `${REPOSITORY}:1.0.0`,
  ]);
  await eventually(() => daemon.served(), Array<string>(replicas).fill('1.0.0'));
}

/** Polls `read` until it gives `expected` (compared as JSON) or 15 s pass; what it gave last. */
async function eventually<T>(read: () => Promise<T>, expected: T, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  let last = await read();
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    last = await read();
  }
  return last;
}

function workflow(version: string, strategy: Record<string, unknown>, target: Record<string, unknown> = {}) {
  return {
    version: 1,
    name: 'web-swarm',
    inputs: { version: { default: version } },
    swarm: { host: swarmd().host },
    environments: { production: {} },
    probes: {
      nodes: { type: 'swarm', check: 'nodes' },
      room: { type: 'swarm', check: 'resources' },
      web: { type: 'swarm', check: 'tasks', service: 'web' },
    },
    audit: { sinks: [{ type: 'file', dir: join(dir, 'audit') }] },
    stages: [
      {
        name: 'web',
        environment: 'production',
        when: 'probes.nodes.ok && probes.web.ok && probes.room.value >= 500',
        target: { type: 'swarm', service: 'web', interval: '200ms', timeout: '1m', ...target },
        verify: { timeout: '20s', interval: '250ms' },
        strategy,
      },
    ],
  };
}

/** The image each task Swarm wants running runs, per service, sorted. */
async function tasksOf(daemon: SwarmDaemon, service: string): Promise<string[]> {
  const found = await daemon.api<Array<{ DesiredState: string; Status: { State: string }; Spec: { ContainerSpec: { Image: string } } }>>(
    'GET',
    `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service], 'desired-state': ['running'] }))}`,
  );
  return found.status === 200 ? found.body.filter((t) => t.Status.State === 'running').map((t) => t.Spec.ContainerSpec.Image.split(':').at(-1) ?? '').sort() : [];
}

describe('deploying to Docker Swarm', () => {
  beforeEach(async () => {
    await webOnV1(swarmd(), 2);
  }, 120_000);

  it('a rolling update: the state checks pass, the service runs 2.0.0 on every task, the run succeeds', { timeout: 180_000 }, async () => {
    const run = await runE2E(dir, 'rolling.yml', workflow('2.0.0', { type: 'direct' }, { update: { parallelism: 1, order: 'start-first' } }), {});
    expect(run.outcome.status, JSON.stringify(run.of('step.failed'))).toBe('succeeded');
    expect(run.outcome.exitCode).toBe(0);
    const [snapshot] = run.of('probes.measured');
    expect(snapshot?.snapshot).toMatchObject({ nodes: { ok: true, value: 1 }, web: { ok: true, value: 2 }, room: { ok: true } });
    expect(run.of('infra.changed').map((e) => e.change)).toEqual([{ object: 'service/web', field: 'image', before: `${REPOSITORY}:1.0.0`, after: `${REPOSITORY}:2.0.0` }]);
    expect(await tasksOf(swarmd(), 'web')).toEqual(['2.0.0', '2.0.0']);
    expect(await eventually(() => swarmd().served(), ['2.0.0', '2.0.0'])).toEqual(['2.0.0', '2.0.0']);
  });

  it('a version whose health check fails: Swarm rolls it back, the run says so and ends rolled back on 1.0.0', { timeout: 180_000 }, async () => {
    const run = await runE2E(dir, 'failing.yml', workflow('3.0.0', { type: 'direct' }, { update: { failureAction: 'rollback' } }), {});
    expect(run.outcome.status).toBe('rolled-back');
    expect(run.outcome.exitCode).toBe(1);
    const [failed] = run.of('step.failed');
    expect(failed?.error).toMatch(/^swarm target: Swarm rolled the update of service web to localhost:1\/app:3\.0\.0 back to localhost:1\/app:1\.0\.0: update rolled back due to failure or early termination of task \w+/);
    expect(run.of('rollback.finished')).toEqual([expect.objectContaining({ complete: true, remaining: [] })]);
    expect(await tasksOf(swarmd(), 'web')).toEqual(['1.0.0', '1.0.0']);
    expect(await eventually(() => swarmd().served(), ['1.0.0', '1.0.0'])).toEqual(['1.0.0', '1.0.0']);
  });
});

describe('a canary on Docker Swarm without a router', () => {
  beforeEach(async () => {
    await webOnV1(swarmd(), 4);
  }, 120_000);

  it('moves its share by replicas (1 of 4, then 2 of 4), says it approximates, and promotes 2.0.0 to every task', { timeout: 180_000 }, async () => {
    const seen: Record<number, Promise<{ web: string[]; candidate: string[]; served: string[] }>> = {};
    const daemon = swarmd();
    const run = await runE2E(
      dir,
      'canary.yml',
      workflow('2.0.0', { type: 'canary', steps: [{ setWeight: 25 }, { pause: { duration: '8s' } }, { setWeight: 50 }, { pause: { duration: '8s' } }] }),
      {},
      (e) => {
        if (e.kind !== 'weight.changed') return;
        const expected = e.to === 25 ? ['1.0.0', '1.0.0', '1.0.0', '2.0.0'] : ['1.0.0', '1.0.0', '2.0.0', '2.0.0'];
        // Read while the pause after the change lasts: what Swarm runs, and what answers.
        seen[e.to] = Promise.all([tasksOf(daemon, 'web'), tasksOf(daemon, 'web-candidate'), eventually(() => daemon.served(), expected, 7500)]).then(([web, candidate, served]) => ({ web, candidate, served }));
      },
    );
    expect(run.outcome.status, JSON.stringify(run.of('step.failed'))).toBe('succeeded');
    expect(run.of('weight.changed').map((e) => e.note)).toEqual(['no router: 25% approximated by 1 of 4 replicas (25%)', 'no router: 50% approximated by 2 of 4 replicas (50%)']);
    expect(await seen[25]).toEqual({ web: ['1.0.0', '1.0.0', '1.0.0'], candidate: ['2.0.0'], served: ['1.0.0', '1.0.0', '1.0.0', '2.0.0'] });
    expect(await seen[50]).toEqual({ web: ['1.0.0', '1.0.0'], candidate: ['2.0.0', '2.0.0'], served: ['1.0.0', '1.0.0', '2.0.0', '2.0.0'] });
    // Promoted: the stable service runs 2.0.0 on its 4 replicas again, and the candidate is gone.
    expect(await tasksOf(daemon, 'web')).toEqual(['2.0.0', '2.0.0', '2.0.0', '2.0.0']);
    expect((await daemon.api('GET', '/services/web-candidate')).status).toBe(404);
    expect(await eventually(() => daemon.served(), ['2.0.0', '2.0.0', '2.0.0', '2.0.0'])).toEqual(['2.0.0', '2.0.0', '2.0.0', '2.0.0']);
    const changes = run.of('infra.changed').map((e) => `${e.change.object} ${e.change.field}: ${String(e.change.before)} → ${String(e.change.after)}`);
    expect(changes).toEqual([
      `service/web-candidate created: null → ${REPOSITORY}:2.0.0`,
      'service/web replicas: 4 → 3',
      'service/web replicas: 3 → 2',
      'service/web-candidate replicas: 1 → 2',
      `service/web image: ${REPOSITORY}:1.0.0 → ${REPOSITORY}:2.0.0`,
      `service/web-candidate created: ${REPOSITORY}:2.0.0 → null`,
    ]);
  });
});

describe('examples/swarm', () => {
  beforeEach(async () => {
    await webOnV1(swarmd(), 2);
  }, 120_000);

  /** Runs an example as the README shows it, on the runner's DOCKER_HOST. */
  async function example(name: string, version: string) {
    const loaded = await loadWorkflowFile(join(ROOT, 'examples/swarm', name));
    return runWorkflow({
      loaded,
      store: new MemoryRunStore(),
      context: { actor: 'alice', ci: 'local' },
      inputs: { version },
      clock: createRealClock(),
      env: { PATH: process.env.PATH ?? '', DOCKER_HOST: swarmd().host },
    });
  }

  it('rolling-update.yml rolls out 2.0.0, and Swarm rolls back 3.0.0, whose health check fails', { timeout: 180_000 }, async () => {
    const good = await example('rolling-update.yml', '2.0.0');
    expect(good.exitCode, JSON.stringify(good.journal.stages, null, 1).slice(0, 3000)).toBe(0);
    expect(await tasksOf(swarmd(), 'web')).toEqual(['2.0.0', '2.0.0']);
    const bad = await example('rolling-update.yml', '3.0.0');
    expect(bad.exitCode).toBe(1);
    expect(JSON.stringify(bad.journal.stages.web)).toContain('Swarm rolled the update of service web to localhost:1/app:3.0.0 back to localhost:1/app:2.0.0');
    expect(await tasksOf(swarmd(), 'web')).toEqual(['2.0.0', '2.0.0']);
  });
});

// Its 5-minute pauses are too long for the suite; the canary case above runs the same steps.
it('examples/swarm/canary.yml is a valid workflow', async () => {
  const loaded = await loadWorkflowFile(join(ROOT, 'examples/swarm/canary.yml'));
  expect(loaded.workflow.stages[0]?.target).toMatchObject({ type: 'swarm', service: 'web' });
});
