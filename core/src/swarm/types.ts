/*
 * The Docker Engine API objects rollgate reads and writes, as far as it uses them: services,
 * their tasks and the swarm's nodes. Objects travel as the daemon sends them (plain JSON), so a
 * spec kept in the journal goes back unchanged; only the fields rollgate reads are typed.
 * Durations are nanoseconds, as the API has them.
 */

/** `UpdateConfig` of a service: how Swarm rolls a change of its task template out. */
export interface UpdateConfig {
  Parallelism?: number;
  Delay?: number;
  FailureAction?: string;
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: string;
  [k: string]: unknown;
}

export interface ContainerSpec {
  Image?: string;
  Labels?: Record<string, string>;
  [k: string]: unknown;
}

/** What each task of a service runs: its container, resources, networks, restart policy. */
export interface TaskTemplate {
  ContainerSpec?: ContainerSpec;
  Resources?: { Reservations?: { NanoCPUs?: number; MemoryBytes?: number }; [k: string]: unknown };
  [k: string]: unknown;
}

export interface ServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate?: TaskTemplate;
  Mode?: { Replicated?: { Replicas?: number }; Global?: Record<string, unknown>; [k: string]: unknown };
  UpdateConfig?: UpdateConfig;
  EndpointSpec?: { Mode?: string; Ports?: unknown[]; [k: string]: unknown };
  [k: string]: unknown;
}

/** `UpdateStatus.State`: where Swarm's own rollout of the last change is. */
export type UpdateState = 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

export interface Service {
  ID: string;
  /** The object's version: an update must name the one it was read at (optimistic concurrency). */
  Version: { Index: number };
  Spec: ServiceSpec;
  UpdateStatus?: { State?: UpdateState | string; Message?: string; StartedAt?: string; CompletedAt?: string };
}

export interface Task {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt?: string;
  /** What the orchestrator wants the task to be: `running`, `shutdown`, `remove`… */
  DesiredState?: string;
  /** What it is: `new` … `starting`, `running`, `complete`, `failed`, `rejected`, `shutdown`… */
  Status?: { State?: string; Err?: string; Message?: string; Timestamp?: string };
  Spec?: TaskTemplate;
}

export interface SwarmNode {
  ID: string;
  Description?: { Hostname?: string; Resources?: { NanoCPUs?: number; MemoryBytes?: number } };
  Spec?: { Availability?: string; Role?: string };
  Status?: { State?: string; Message?: string };
}

/** The replicas a replicated service wants; `undefined` for a global service (one task per node). */
export function replicasOf(spec: ServiceSpec): number | undefined {
  if (spec.Mode?.Global !== undefined) return undefined;
  return spec.Mode?.Replicated?.Replicas ?? 1;
}

/** The image a task template runs. */
export const imageOfTemplate = (template: TaskTemplate | undefined): string => template?.ContainerSpec?.Image ?? '';
