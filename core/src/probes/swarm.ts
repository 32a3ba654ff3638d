import { z } from 'zod';
import { duration } from '../config/fields.js';
import type { ProbeResult } from '../model/results.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { DockerClient } from '../swarm/client.js';
import { dockerClient } from '../swarm/endpoint.js';
import { replicasOf, type SwarmNode, type Task } from '../swarm/types.js';
import { measureProbe } from './measure.js';

export const type = 'swarm';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    check: z
      .enum(['nodes', 'tasks', 'resources'])
      .describe(
        "`nodes`: ok when every active node is ready (and one is); value: nodes ready and active. `tasks`: ok when `service` runs as many tasks as it wants; value: its running tasks. `resources`: free CPU and memory on the ready, active nodes (each node's CPUs and memory minus the reservations of the tasks placed there); value: free millicores",
      ),
    service: z.string().min(1).optional().describe('The service whose tasks are counted (`tasks` check)'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s, so a state check ends within 5s)').prefault('3s'),
  })
  .refine((c) => c.check !== 'tasks' || c.service !== undefined, { message: 'the tasks check needs `service`', path: ['service'] })
  .describe("Reads a Docker Swarm through its manager's Engine API: node availability, a service's running tasks against those it wants, free CPU and memory");
export type SwarmProbeConfig = z.output<typeof configSchema>;

type Measured = Omit<ProbeResult, 'latencyMs'>;

const MiB = 1_048_576;
/** Task states that hold their node's reservations: placed and not ended. */
const HOLDING = new Set(['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);

const usable = (n: SwarmNode) => n.Status?.State === 'ready' && (n.Spec?.Availability ?? 'active') === 'active';
const nodeName = (n: SwarmNode) => n.Description?.Hostname ?? n.ID;

export function create(config: SwarmProbeConfig, deps: ProviderDeps): Probe {
  const client = dockerClient(deps);
  return {
    type,
    // The Engine client's errors start with `swarm: `, which the probe's own name replaces.
    check: (ctx) => measureProbe(`swarm ${config.check} probe`, config.timeout, ctx, (c) => measure(client(c), c.signal), /^swarm: /),
  };

  async function measure(api: DockerClient, signal: AbortSignal): Promise<Measured> {
    switch (config.check) {
      case 'nodes':
        return nodes(await api.nodes(signal));
      case 'tasks': {
        const name = config.service as string;
        const service = await api.service(name, signal);
        if (!service) return { ok: false, value: 0, error: `service ${name} does not exist`, details: { service: name } };
        const all = await api.serviceTasks(service, signal);
        if (!all) return { ok: false, value: 0, error: `service ${name} does not exist`, details: { service: name } };
        return tasks(name, replicasOf(service.Spec), all);
      }
      case 'resources': {
        const [all, placed] = await Promise.all([api.nodes(signal), api.tasks({ 'desired-state': ['running'] }, signal)]);
        return resources(all, placed);
      }
    }
  }
}

function nodes(all: SwarmNode[]): Measured {
  const available = all.filter(usable).length;
  const down = all.filter((n) => n.Status?.State !== 'ready' && n.Spec?.Availability !== 'drain').map(nodeName);
  const details = { available, total: all.length, ready: all.filter((n) => n.Status?.State === 'ready').length, down: down.join(',') };
  if (down.length > 0) return { ok: false, value: available, details, error: `nodes not ready: ${down.join(', ')}` };
  if (available === 0) return { ok: false, value: 0, details, error: 'no node is ready and active (every node is drained or paused)' };
  return { ok: true, value: available, details };
}

function tasks(name: string, replicas: number | undefined, all: Task[]): Measured {
  const running = all.filter((t) => t.DesiredState === 'running' && t.Status?.State === 'running').length;
  // A global service wants a task on every node the orchestrator placed one on.
  const desired = replicas ?? all.filter((t) => t.DesiredState === 'running').length;
  const details = { service: name, running, desired };
  if (running === desired) return { ok: true, value: running, details };
  return { ok: false, value: running, details, error: `service ${name} runs ${running} of the ${desired} tasks it wants` };
}

function resources(all: SwarmNode[], placed: Task[]): Measured {
  const free = all.filter(usable).map((n) => {
    const held = placed.filter((t) => t.NodeID === n.ID && HOLDING.has(t.Status?.State ?? ''));
    const reserved = held.reduce(
      (sum, t) => ({ cpu: sum.cpu + (t.Spec?.Resources?.Reservations?.NanoCPUs ?? 0), memory: sum.memory + (t.Spec?.Resources?.Reservations?.MemoryBytes ?? 0) }),
      { cpu: 0, memory: 0 },
    );
    const size = n.Description?.Resources ?? {};
    return { cpu: (size.NanoCPUs ?? 0) - reserved.cpu, memory: (size.MemoryBytes ?? 0) - reserved.memory, totalCpu: size.NanoCPUs ?? 0, totalMemory: size.MemoryBytes ?? 0 };
  });
  const sum = (pick: (f: (typeof free)[number]) => number) => free.reduce((s, f) => s + Math.max(0, pick(f)), 0);
  const freeCpuMillis = Math.floor(sum((f) => f.cpu) / 1_000_000);
  const details = {
    freeCpuMillis,
    freeMemoryMiB: Math.floor(sum((f) => f.memory) / MiB),
    cpuMillis: Math.floor(sum((f) => f.totalCpu) / 1_000_000),
    memoryMiB: Math.floor(sum((f) => f.totalMemory) / MiB),
    nodes: free.length,
  };
  if (free.length === 0) return { ok: false, value: 0, details, error: 'no node is ready and active, so nothing can be placed' };
  return { ok: true, value: freeCpuMillis, details };
}
