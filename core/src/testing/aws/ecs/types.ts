import { AwsFault } from '../server.js';

/* The records of the ECS API double's state (model.ts), as ECS documents its objects. */

export const ACCOUNT = '123456789012';

/** An error the ECS API answers with: its `__type` and message, as the documented exceptions carry them. */
export class EcsFault extends AwsFault {
  constructor(code: string, message: string) {
    super(code, message, code === 'ServerException' ? 500 : 400);
  }
}

export interface ContainerDefinition {
  name: string;
  image: string;
  [field: string]: unknown;
}

export interface TaskDefinition {
  family: string;
  revision: number;
  taskDefinitionArn: string;
  status: 'ACTIVE' | 'INACTIVE';
  registeredAt: number;
  containerDefinitions: ContainerDefinition[];
  [field: string]: unknown;
}

export interface Deployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  taskDefinition: string;
  desiredCount: number;
  failedTasks: number;
  createdAt: number;
  updatedAt: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  rolloutStateReason?: string;
}

export interface EcsTask {
  taskArn: string;
  arn: string;
  service: string;
  deploymentId: string;
  taskDefinitionArn: string;
  lastStatus: 'PENDING' | 'RUNNING' | 'STOPPED';
  desiredStatus: 'RUNNING' | 'STOPPED';
  ip: string;
  placedAt?: number;
  startedAt?: number;
  stoppedAt?: number;
  stoppedReason?: string;
}

export interface ServiceEvent {
  id: string;
  createdAt: number;
  message: string;
}

export interface LoadBalancer {
  targetGroupArn?: string;
  containerName?: string;
  containerPort?: number;
}

export interface EcsService {
  name: string;
  arn: string;
  clusterArn: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  desiredCount: number;
  taskDefinition: string;
  launchType: string;
  loadBalancers: LoadBalancer[];
  deploymentConfiguration: {
    maximumPercent?: number;
    minimumHealthyPercent?: number;
    deploymentCircuitBreaker?: { enable?: boolean; rollback?: boolean };
    [field: string]: unknown;
  };
  /** Newest first, as DescribeServices lists them. */
  deployments: Deployment[];
  tasks: EcsTask[];
  /** Newest first. */
  events: ServiceEvent[];
  createdAt: number;
  deploymentController: { type: string };
  /** The task definition of the last deployment that completed: what a circuit breaker rolls back to. */
  stableTaskDefinition: string | undefined;
  /** The CreateService idempotency token, and the request it came with (a retry with both gets this service back). */
  clientToken?: string;
  request?: string;
  /** Settings the double keeps and shows without acting on them: `serviceRegistries`, and on its deployments `serviceConnectConfiguration`, `volumeConfigurations`. */
  kept?: { service: Record<string, unknown>; deployment: Record<string, unknown> };
}

/** A deployment id as ECS writes them: `ecs-svc/` and 19 digits. */
export function deploymentId(n: number): string {
  return `ecs-svc/${String(4_000_000_000_000_000_000n + BigInt(n))}`;
}

/** A task definition as DescribeTaskDefinition answers. */
export function taskDefinitionView(def: TaskDefinition): Record<string, unknown> {
  return structuredClone(def);
}

export interface Cluster {
  name: string;
  arn: string;
  /** Tasks the cluster can place at once (undefined: unlimited). */
  capacity?: number;
  services: Map<string, EcsService>;
}
