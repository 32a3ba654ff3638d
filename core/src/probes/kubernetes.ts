import { z } from 'zod';
import { duration } from '../config/fields.js';
import { DEPLOYMENTS, type KubeClient, type KubeObject } from '../kubernetes/client.js';
import { connection } from '../kubernetes/connection.js';
import { type PodSpecLike, podRequests, type Requests } from '../kubernetes/pod-requests.js';
import { cpuMillis, memoryBytes } from '../kubernetes/quantity.js';
import { rolloutStatus } from '../kubernetes/rollout-status.js';
import type { ProbeResult } from '../model/results.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { measureProbe } from './measure.js';

export const type = 'kubernetes';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    check: z
      .enum(['capacity', 'deployment', 'nodes', 'pending-pods'])
      .describe(
        '`capacity`: free CPU and memory on the Ready, schedulable nodes (allocatable minus the requests of the pods bound there); value: how many more pods of `deployment` fit, or free millicores without one. `deployment`: ok when its rollout is done and every replica available; value: available replicas. `nodes`: ok when every node is Ready; value: Ready nodes. `pending-pods`: value: pods waiting to be scheduled or to start (in `namespace`, else everywhere)',
      ),
    deployment: z.string().min(1).optional().describe('The Deployment (`deployment` check; for `capacity`, the pods whose fit is counted)'),
    namespace: z.string().min(1).optional().describe("Namespace of the Deployment or the pods (default: the environment's kubernetes.namespace, else the context's)"),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 4.9s, so a state check ends within 5s)').prefault('3s'),
  })
  .refine((c) => c.check !== 'deployment' || c.deployment !== undefined, { message: 'the deployment check needs `deployment`', path: ['deployment'] })
  .describe('Reads cluster state through the Kubernetes API: free capacity, a Deployment’s readiness, node readiness, pending pods');
export type KubernetesProbeConfig = z.output<typeof configSchema>;

const MiB = 1_048_576;

export function create(config: KubernetesProbeConfig, deps: ProviderDeps): Probe {
  const client = connection(deps);
  return {
    type,
    check: (ctx) =>
      measureProbe(`kubernetes ${config.check} probe`, config.timeout, ctx, async (c) => {
        const api = await client(c);
        return measure(api, config.namespace ?? api.namespace, c.signal);
      }),
  };

  async function measure(api: KubeClient, namespace: string, signal: AbortSignal): Promise<Omit<ProbeResult, 'latencyMs'>> {
    switch (config.check) {
      case 'deployment': {
        const d = await api.get(DEPLOYMENTS, namespace, config.deployment as string, signal);
        if (!d) return { ok: false, value: 0, error: `Deployment ${namespace}/${String(config.deployment)} does not exist` };
        const status = (d.status ?? {}) as { availableReplicas?: number; updatedReplicas?: number; readyReplicas?: number };
        const wanted = ((d.spec ?? {}) as { replicas?: number }).replicas ?? 1;
        const rollout = rolloutStatus(d);
        const available = status.availableReplicas ?? 0;
        const ok = rollout.state === 'done' && available >= wanted;
        return {
          ok,
          value: available,
          details: { replicas: wanted, updated: status.updatedReplicas ?? 0, ready: status.readyReplicas ?? 0, available, rollout: rollout.state },
          ...(ok ? {} : { error: rollout.message }),
        };
      }
      case 'nodes': {
        const nodes = await api.nodes(signal);
        const notReady = nodes.filter((n) => !isReady(n)).map((n) => String(n.metadata?.name));
        const ready = nodes.length - notReady.length;
        return {
          ok: notReady.length === 0 && nodes.length > 0,
          value: ready,
          details: { ready, total: nodes.length, notReady: notReady.join(',') },
          ...(notReady.length > 0 ? { error: `nodes not Ready: ${notReady.join(', ')}` } : nodes.length === 0 ? { error: 'the cluster has no nodes' } : {}),
        };
      }
      case 'pending-pods': {
        const pods = await api.pods({ ...(config.namespace ? { namespace } : {}), fieldSelector: 'status.phase=Pending' }, signal);
        return { ok: true, value: pods.length, details: { pending: pods.length, unschedulable: pods.filter(unschedulable).length } };
      }
      case 'capacity':
        return capacity(api, namespace, signal);
    }
  }

  async function capacity(api: KubeClient, namespace: string, signal: AbortSignal): Promise<Omit<ProbeResult, 'latencyMs'>> {
    const [nodes, pods, deployment] = await Promise.all([
      api.nodes(signal),
      api.pods({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }, signal),
      config.deployment ? api.get(DEPLOYMENTS, namespace, config.deployment, signal) : Promise.resolve(undefined),
    ]);
    if (config.deployment && !deployment) return { ok: false, value: null, error: `Deployment ${namespace}/${config.deployment} does not exist, so the room for its pods is unknown` };
    const usable = nodes.filter((n) => isReady(n) && !(n.spec as { unschedulable?: boolean } | undefined)?.unschedulable);
    const free = usable.map((n) => {
      const allocatable = ((n.status ?? {}) as { allocatable?: Record<string, string> }).allocatable ?? {};
      const bound = pods.filter((p) => (p.spec as { nodeName?: string } | undefined)?.nodeName === n.metadata?.name);
      const used = bound.reduce<Requests>((sum, p) => {
        const r = podRequests((p.spec ?? {}) as PodSpecLike);
        return { cpuMillis: sum.cpuMillis + r.cpuMillis, memoryBytes: sum.memoryBytes + r.memoryBytes };
      }, { cpuMillis: 0, memoryBytes: 0 });
      const room = Math.max(0, Number(allocatable.pods ?? 110) - bound.length);
      return { cpuMillis: cpuMillis(allocatable.cpu) - used.cpuMillis, memoryBytes: memoryBytes(allocatable.memory) - used.memoryBytes, pods: room };
    });
    const total = free.reduce((sum, f) => ({ cpuMillis: sum.cpuMillis + Math.max(0, f.cpuMillis), memoryBytes: sum.memoryBytes + Math.max(0, f.memoryBytes) }), { cpuMillis: 0, memoryBytes: 0 });
    const details: Record<string, number> = { freeCpuMillis: total.cpuMillis, freeMemoryMiB: Math.floor(total.memoryBytes / MiB), nodes: usable.length };
    if (!deployment) return { ok: true, value: total.cpuMillis, details };
    // Pods fit node by node: free room split across nodes does not hold one pod.
    const each = podRequests(((((deployment.spec ?? {}) as { template?: { spec?: PodSpecLike } }).template ?? {}).spec ?? {}) as PodSpecLike);
    const fit = free.reduce((n, f) => n + fits(f, each), 0);
    return { ok: true, value: fit, details: { ...details, podCpuMillis: each.cpuMillis, podMemoryMiB: Math.ceil(each.memoryBytes / MiB) } };
  }
}

/** How many pods asking `each` fit on a node with `free` room (and room for `free.pods` more pods). */
function fits(free: Requests & { pods: number }, each: Requests): number {
  const byCpu = each.cpuMillis > 0 ? Math.floor(free.cpuMillis / each.cpuMillis) : free.pods;
  const byMemory = each.memoryBytes > 0 ? Math.floor(free.memoryBytes / each.memoryBytes) : free.pods;
  return Math.max(0, Math.min(byCpu, byMemory, free.pods));
}

function isReady(node: KubeObject): boolean {
  const conditions = ((node.status ?? {}) as { conditions?: Array<{ type?: string; status?: string }> }).conditions ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

function unschedulable(pod: KubeObject): boolean {
  const conditions = ((pod.status ?? {}) as { conditions?: Array<{ type?: string; status?: string; reason?: string }> }).conditions ?? [];
  return conditions.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
}
