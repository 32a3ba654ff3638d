import { cpuMillis, memoryBytes } from './quantity.js';

/*
 * What a pod takes from its node, as the scheduler counts it (Kubernetes docs, "Resource
 * Management for Pods and Containers", "Pod Overhead", "Sidecar containers"): the larger of the
 * app containers' requests (plus sidecars: init containers that keep running) and the largest
 * init container's, plus the pod's overhead; pod-level resources replace the containers' when set.
 * @kubernetes/client-node's topNodes counts only running pods' app containers, which overstates
 * the room a new version has.
 */

export interface Requests {
  cpuMillis: number;
  memoryBytes: number;
}

interface ContainerLike {
  resources?: { requests?: Record<string, string | number> };
  restartPolicy?: string;
}
export interface PodSpecLike {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  overhead?: Record<string, string | number>;
  resources?: { requests?: Record<string, string | number> };
}

const of = (requests: Record<string, string | number> | undefined): Requests => ({ cpuMillis: cpuMillis(requests?.cpu), memoryBytes: memoryBytes(requests?.memory) });
const add = (a: Requests, b: Requests): Requests => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes });
const max = (a: Requests, b: Requests): Requests => ({ cpuMillis: Math.max(a.cpuMillis, b.cpuMillis), memoryBytes: Math.max(a.memoryBytes, b.memoryBytes) });
const ZERO: Requests = { cpuMillis: 0, memoryBytes: 0 };

export function podRequests(spec: PodSpecLike): Requests {
  const overhead = of(spec.overhead);
  if (spec.resources?.requests) return add(of(spec.resources.requests), overhead);
  const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  let running = [...(spec.containers ?? []), ...sidecars].reduce((sum, c) => add(sum, of(c.resources?.requests)), ZERO);
  // An init container runs beside the sidecars started before it, then ends.
  let started = ZERO;
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') started = add(started, of(c.resources?.requests));
    else running = max(running, add(started, of(c.resources?.requests)));
  }
  return add(running, overhead);
}
