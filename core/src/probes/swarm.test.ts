import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPOSITORY, useSwarm } from '../../../tests/real/swarm/daemon.js';
import { type FaultProxy, startFaultProxy } from '../../../tests/real/swarm/fault-proxy.js';
import { serviceSpec } from '../../../tests/real/swarm/images.js';
import type { SwarmNode } from '../swarm/types.js';
import { contractCall } from '../testing/contracts/kit.js';
import { fakeDeps } from '../testing/fakes.js';
import * as swarm from './swarm.js';

/*
 * What each check of the swarm probe reads from a real Docker Swarm (Debian's docker.io daemon,
 * started for this file): the node's availability, a service's running tasks against those it
 * wants, and the CPU and memory left once the tasks' reservations are taken from the node's.
 */

vi.setConfig({ testTimeout: 120_000 });

let proxy: FaultProxy;
const swarmd = useSwarm(async (daemon) => {
  await Promise.all([daemon.image('1.0.0'), daemon.image('bad', 'bad')]);
});
beforeAll(async () => {
  proxy = await startFaultProxy(swarmd().socket);
});
afterAll(() => proxy?.close());

const check = (fields: Record<string, unknown>, host = swarmd().host) =>
  swarm.create(swarm.configSchema.parse({ type: 'swarm', ...fields }), fakeDeps({}, { settings: { swarm: { host } } })).check(contractCall().ctx);

/** Creates a service through the API and waits until it has as many tasks as it wants running (or `untilRunning` of them). */
async function service(name: string, version: string, fields: { replicas: number; reservations?: Record<string, number> }, untilRunning = fields.replicas) {
  const spec = serviceSpec(name, `${REPOSITORY}:${version}`, { portBase: swarmd().portBase, replicas: fields.replicas }) as { TaskTemplate: Record<string, unknown> };
  if (fields.reservations) spec.TaskTemplate.Resources = { Reservations: fields.reservations };
  const created = await swarmd().api<{ ID: string }>('POST', '/services/create', spec);
  expect(created.status).toBe(201);
  for (let i = 0; i < 300; i++) {
    const tasks = await swarmd().api<Array<{ DesiredState: string; Status: { State: string } }>>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [name] }))}`);
    if (tasks.body.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length >= untilRunning) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`service ${name} did not start`);
}

describe('swarm probe', () => {
  it('nodes: the nodes ready and active; a swarm whose every node is drained has none to place a task on', async () => {
    expect(await check({ check: 'nodes' })).toMatchObject({ ok: true, value: 1, details: { available: 1, total: 1, ready: 1, down: '' } });
    const [node] = (await swarmd().api<SwarmNode[]>('GET', '/nodes')).body as Array<SwarmNode & { Version: { Index: number } }>;
    const drain = async (availability: string) => {
      const now = (await swarmd().api<SwarmNode & { Version: { Index: number } }>('GET', `/nodes/${node!.ID}`)).body;
      await swarmd().api('POST', `/nodes/${node!.ID}/update?version=${now.Version.Index}`, { ...now.Spec, Availability: availability });
    };
    await drain('drain');
    try {
      const drained = await check({ check: 'nodes' });
      expect(drained).toMatchObject({ ok: false, value: 0, error: 'swarm nodes probe: no node is ready and active (every node is drained or paused)' });
      expect(await check({ check: 'resources' })).toMatchObject({ ok: false, value: 0, error: 'swarm resources probe: no node is ready and active, so nothing can be placed' });
    } finally {
      await drain('active');
    }
  });

  it('tasks: ok when the service runs as many tasks as it wants; a version that never turns healthy runs none', async () => {
    await service('counted', '1.0.0', { replicas: 2 });
    expect(await check({ check: 'tasks', service: 'counted' })).toMatchObject({ ok: true, value: 2, details: { service: 'counted', running: 2, desired: 2 } });
    await service('broken', 'bad', { replicas: 2 }, 0);
    expect(await check({ check: 'tasks', service: 'broken' })).toMatchObject({
      ok: false,
      value: 0,
      details: { service: 'broken', running: 0, desired: 2 },
      error: 'swarm tasks probe: service broken runs 0 of the 2 tasks it wants',
    });
    expect(await check({ check: 'tasks', service: 'ghost' })).toMatchObject({ ok: false, value: 0, error: 'swarm tasks probe: service ghost does not exist' });
    await Promise.all(['counted', 'broken'].map((s) => swarmd().api('DELETE', `/services/${s}`)));
  });

  it("resources: the node's CPU and memory less what the running tasks reserve", async () => {
    const [node] = (await swarmd().api<SwarmNode[]>('GET', '/nodes')).body;
    const cpuMillis = Math.floor((node?.Description?.Resources?.NanoCPUs ?? 0) / 1e6);
    const memoryMiB = Math.floor((node?.Description?.Resources?.MemoryBytes ?? 0) / 1_048_576);
    expect(cpuMillis).toBeGreaterThan(500);
    const before = await check({ check: 'resources' });
    expect(before).toMatchObject({ ok: true, value: cpuMillis, details: { freeCpuMillis: cpuMillis, freeMemoryMiB: memoryMiB, cpuMillis, memoryMiB, nodes: 1 } });
    await service('reserving', '1.0.0', { replicas: 2, reservations: { NanoCPUs: 250_000_000, MemoryBytes: 64 * 1_048_576 } });
    const after = await check({ check: 'resources' });
    expect(after).toMatchObject({ ok: true, value: cpuMillis - 500, details: { freeCpuMillis: cpuMillis - 500, freeMemoryMiB: memoryMiB - 128 } });
    await swarmd().api('DELETE', '/services/reserving');
  });

  it('what goes wrong is data: an unreachable daemon, and a daemon that does not answer in time', async () => {
    expect(await check({ check: 'nodes' }, 'unix:///tmp/rgsw-nowhere/docker.sock')).toMatchObject({
      ok: false,
      value: null,
      error: 'swarm nodes probe: cannot list nodes: there is no socket at /tmp/rgsw-nowhere/docker.sock: the Docker daemon is not running there; start it, or point swarm.host (or DOCKER_HOST) at its socket',
    });
    proxy.hang('GET', /\/nodes$/);
    expect(await check({ check: 'resources', timeout: '300ms' }, proxy.host)).toMatchObject({ ok: false, value: null, error: 'swarm resources probe: no answer within 300ms' });
  });

  it('the tasks check needs a service', () => {
    const parsed = swarm.configSchema.safeParse({ type: 'swarm', check: 'tasks' });
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['service'], message: 'the tasks check needs `service`' });
  });
});
