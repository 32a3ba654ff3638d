import { ACCOUNT, type Cluster, type Deployment, EcsFault, type EcsService, type EcsTask, type TaskDefinition, deploymentId, taskDefinitionView } from './types.js';
export type { Cluster } from './types.js';
import { checkLoadBalancers, pick } from './create.js';
import { advanceService, type Progress } from './progress.js';

/*
 * The state behind the ECS API double (ecs.ts): task definitions by family and revision, clusters
 * with their services, each service's deployments and tasks, progressed over the double's clock by
 * progress.ts as the ECS deployment controller does (rolling update, 100 % minimum healthy / 200 %
 * maximum, the deployment circuit breaker). Pure: no HTTP, every operation a method taking the
 * request's JSON and returning the response's, throwing `EcsFault` with the documented `__type`.
 */

export interface EcsModelOptions {
  now: () => number;
  region?: string;
  /** How long a task takes from placement to RUNNING (default 2,000 ms). */
  startMs?: number;
  /** Tasks of an image this says is bad stop as they start (default: tags `bad` and `crash`). */
  crashes?: (image: string) => boolean;
  /** Tasks of an image this says is slow never leave PENDING (default: tag `slow`). */
  slow?: (image: string) => boolean;
  /** A just-updated service reads back as it was before the update, once (default true). */
  staleReads?: boolean;
}


const TICK_MS = 1_000;

export class EcsModel {
  readonly region: string;
  readonly clusters = new Map<string, Cluster>();
  readonly families = new Map<string, TaskDefinition[]>();
  private readonly progress: Progress;
  private readonly stale = new Map<EcsService, { view: Record<string, unknown>; until: number }>();
  private lastTick: number;
  private counter = 0;
  staleReads: boolean;
  /** Whether some listener rule or default action of a load balancer forwards to a target group (the ELBv2 double's answer); unset: every group is. */
  loadBalanced?: (targetGroupArn: string) => boolean;
  private readonly tags = new Map<string, unknown[]>();

  constructor(private readonly options: EcsModelOptions) {
    this.region = options.region ?? 'us-east-1';
    this.staleReads = options.staleReads ?? true;
    this.lastTick = options.now();
    this.progress = {
      startMs: options.startMs ?? 2_000,
      crashes: options.crashes ?? ((image) => /:(bad|crash)$/.test(image)),
      slow: options.slow ?? ((image) => image.endsWith(':slow')),
      image: (arn) => this.imageOf(arn),
      next: () => ++this.counter,
      arn: (kind, rest) => `arn:aws:ecs:${this.region}:${ACCOUNT}:${kind}/${rest}`,
    };
  }

  get now(): number {
    return this.options.now();
  }

  /** A cluster (created when missing), with its capacity in tasks. */
  cluster(name = 'default', capacity?: number): Cluster {
    let c = this.clusters.get(name);
    if (!c) this.clusters.set(name, (c = { name, arn: `arn:aws:ecs:${this.region}:${ACCOUNT}:cluster/${name}`, services: new Map() }));
    if (capacity !== undefined) c.capacity = capacity;
    return c;
  }

  /** Runs the deployment controller up to now, a tick at a time. */
  advance(): void {
    const now = this.now;
    if (now - this.lastTick > 3_600_000) this.lastTick = now - 3_600_000;
    while (this.lastTick + TICK_MS <= now) {
      this.lastTick += TICK_MS;
      for (const cluster of this.clusters.values()) {
        for (const service of cluster.services.values()) advanceService(service, cluster, this.lastTick, this.progress);
      }
    }
  }

  /** Plays the last minute of the controller over every service, so what was just seeded is steady (its tasks running and healthy). */
  settle(): void {
    const now = this.now;
    for (let at = now - 60_000; at <= now; at += TICK_MS) {
      for (const cluster of this.clusters.values()) {
        for (const service of cluster.services.values()) advanceService(service, cluster, at, this.progress);
      }
    }
    this.lastTick = now;
  }

  // ---- task definitions -------------------------------------------------------------------

  registerTaskDefinition(input: Record<string, unknown>): Record<string, unknown> {
    const family = input.family;
    if (typeof family !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(family)) throw new EcsFault('ClientException', 'Family contains invalid characters or is missing.');
    const containers = input.containerDefinitions;
    if (!Array.isArray(containers) || containers.length === 0) throw new EcsFault('ClientException', 'Container definitions must be specified.');
    for (const c of containers as Array<{ name?: unknown; image?: unknown }>) {
      if (typeof c.name !== 'string' || typeof c.image !== 'string') throw new EcsFault('ClientException', 'Container.name and Container.image should not be null or empty.');
    }
    const revisions = this.families.get(family) ?? [];
    this.families.set(family, revisions);
    const { tags, ...rest } = input as { tags?: unknown };
    const revision = revisions.length + 1;
    const def: TaskDefinition = {
      ...structuredClone(rest),
      family,
      revision,
      taskDefinitionArn: `arn:aws:ecs:${this.region}:${ACCOUNT}:task-definition/${family}:${revision}`,
      status: 'ACTIVE',
      registeredAt: this.now / 1000,
      containerDefinitions: structuredClone(containers) as TaskDefinition['containerDefinitions'],
    };
    revisions.push(def);
    if (Array.isArray(tags)) this.tags.set(def.taskDefinitionArn, structuredClone(tags));
    return { taskDefinition: taskDefinitionView(def), ...(Array.isArray(tags) ? { tags } : {}) };
  }

  /** The task definition a reference names: an ARN, `family:revision`, or a family's latest ACTIVE revision. */
  taskDefinition(ref: unknown): TaskDefinition | undefined {
    if (typeof ref !== 'string') return undefined;
    const short = ref.replace(/^arn:aws:ecs:[^:]+:\d+:task-definition\//, '');
    const [family, revision] = short.split(':');
    const revisions = this.families.get(family ?? '') ?? [];
    if (revision === undefined) return [...revisions].reverse().find((d) => d.status === 'ACTIVE');
    return revisions[Number(revision) - 1];
  }

  describeTaskDefinition(input: { taskDefinition?: unknown; include?: unknown }): Record<string, unknown> {
    const def = this.taskDefinition(input.taskDefinition);
    if (!def) throw new EcsFault('ClientException', 'Unable to describe task definition.');
    // Tags only when asked for, as ECS answers.
    const tags = Array.isArray(input.include) && input.include.includes('TAGS') ? { tags: structuredClone(this.tags.get(def.taskDefinitionArn) ?? []) } : {};
    return { taskDefinition: taskDefinitionView(def), ...tags };
  }

  private imageOf(arn: string): string {
    return this.taskDefinition(arn)?.containerDefinitions[0]?.image ?? '';
  }

  // ---- services ---------------------------------------------------------------------------

  private clusterOf(ref: unknown): Cluster {
    const name = typeof ref === 'string' ? ref.replace(/^arn:aws:ecs:[^:]+:\d+:cluster\//, '') : 'default';
    const found = this.clusters.get(name);
    if (!found) throw new EcsFault('ClusterNotFoundException', 'Cluster not found.');
    return found;
  }

  private serviceOf(cluster: Cluster, ref: unknown): EcsService | undefined {
    const name = typeof ref === 'string' ? ref.replace(/^arn:aws:ecs:[^:]+:\d+:service\/([^/]+\/)?/, '') : '';
    return cluster.services.get(name);
  }

  /** A service as DescribeServices shows it now. */
  view(service: EcsService): Record<string, unknown> {
    const live = (d: Deployment) => service.tasks.filter((t) => t.deploymentId === d.id && t.lastStatus !== 'STOPPED');
    const deployments = service.deployments.map((d) => {
      const tasks = live(d);
      return {
        id: d.id,
        status: d.status,
        taskDefinition: d.taskDefinition,
        desiredCount: d.desiredCount,
        pendingCount: tasks.filter((t) => t.lastStatus === 'PENDING').length,
        runningCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
        failedTasks: d.failedTasks,
        createdAt: d.createdAt / 1000,
        updatedAt: d.updatedAt / 1000,
        launchType: service.launchType,
        ...structuredClone(service.kept?.deployment ?? {}),
        rolloutState: d.rolloutState,
        ...(d.rolloutStateReason ? { rolloutStateReason: d.rolloutStateReason } : {}),
      };
    });
    return {
      serviceArn: service.arn,
      serviceName: service.name,
      clusterArn: service.clusterArn,
      loadBalancers: structuredClone(service.loadBalancers),
      ...structuredClone(service.kept?.service ?? {}),
      status: service.status,
      desiredCount: service.desiredCount,
      runningCount: deployments.reduce((n, d) => n + d.runningCount, 0),
      pendingCount: deployments.reduce((n, d) => n + d.pendingCount, 0),
      launchType: service.launchType,
      taskDefinition: service.taskDefinition,
      deploymentConfiguration: structuredClone(service.deploymentConfiguration),
      deployments,
      events: service.events.slice(0, 100).map((e) => ({ ...e, createdAt: e.createdAt / 1000 })),
      createdAt: service.createdAt / 1000,
      deploymentController: structuredClone(service.deploymentController),
    };
  }

  describeServices(input: { cluster?: unknown; services?: unknown }): Record<string, unknown> {
    this.advance();
    const cluster = this.clusterOf(input.cluster);
    if (!Array.isArray(input.services) || input.services.length === 0 || input.services.length > 10) {
      throw new EcsFault('InvalidParameterException', 'services can have at most 10 items and at least 1.');
    }
    const services: unknown[] = [];
    const failures: unknown[] = [];
    for (const ref of input.services) {
      const s = this.serviceOf(cluster, ref);
      if (!s) {
        failures.push({ arn: `arn:aws:ecs:${this.region}:${ACCOUNT}:service/${cluster.name}/${String(ref)}`, reason: 'MISSING' });
        continue;
      }
      // Read within a second of an update, the service may still be as it was: once.
      const old = this.stale.get(s);
      this.stale.delete(s);
      services.push(old && this.now <= old.until ? old.view : this.view(s));
    }
    return { services, failures };
  }

  createService(input: Record<string, unknown>): Record<string, unknown> {
    this.advance();
    const cluster = this.clusterOf(input.cluster);
    const name = input.serviceName;
    if (typeof name !== 'string' || name === '') throw new EcsFault('InvalidParameterException', 'serviceName must be specified.');
    const existing = cluster.services.get(name);
    const { clientToken, ...request } = input;
    // The same token and request as the call that made it (a retry after a lost answer): that service, unchanged.
    if (existing?.status === 'ACTIVE' && clientToken !== undefined && existing.clientToken === clientToken && existing.request === JSON.stringify(request)) return { service: this.view(existing) };
    if (existing && existing.status !== 'INACTIVE') throw new EcsFault('InvalidParameterException', 'Creation of service was not idempotent.');
    const def = this.taskDefinition(input.taskDefinition);
    if (!def) throw new EcsFault('ClientException', 'TaskDefinition not found.');
    checkLoadBalancers(input.loadBalancers, this.loadBalanced);
    const desiredCount = typeof input.desiredCount === 'number' ? input.desiredCount : 0;
    const service: EcsService = {
      name,
      arn: `arn:aws:ecs:${this.region}:${ACCOUNT}:service/${cluster.name}/${name}`,
      clusterArn: cluster.arn,
      status: 'ACTIVE',
      desiredCount,
      taskDefinition: def.taskDefinitionArn,
      launchType: typeof input.launchType === 'string' ? input.launchType : 'FARGATE',
      loadBalancers: Array.isArray(input.loadBalancers) ? structuredClone(input.loadBalancers) : [],
      deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100, ...((input.deploymentConfiguration as object | undefined) ?? {}) },
      deployments: [],
      tasks: [],
      events: [],
      createdAt: this.now,
      stableTaskDefinition: undefined,
      deploymentController: { type: 'ECS', ...((input.deploymentController as object | undefined) ?? {}) },
      ...(typeof clientToken === 'string' ? { clientToken, request: JSON.stringify(request) } : {}),
      kept: {
        service: pick(input, ['serviceRegistries', 'availabilityZoneRebalancing']),
        deployment: pick(input, ['serviceConnectConfiguration', 'volumeConfigurations', 'vpcLatticeConfigurations']),
      },
    };
    service.deployments.push(this.newDeployment(def.taskDefinitionArn, desiredCount));
    cluster.services.set(name, service);
    return { service: this.view(service) };
  }

  private newDeployment(taskDefinition: string, desiredCount: number, reason?: string): Deployment {
    const now = this.now;
    return { id: deploymentId(++this.counter), status: 'PRIMARY', taskDefinition, desiredCount, failedTasks: 0, createdAt: now, updatedAt: now, rolloutState: 'IN_PROGRESS', ...(reason ? { rolloutStateReason: reason } : {}) };
  }

  updateService(input: Record<string, unknown>): Record<string, unknown> {
    this.advance();
    const cluster = this.clusterOf(input.cluster);
    const service = this.serviceOf(cluster, input.service);
    if (!service) throw new EcsFault('ServiceNotFoundException', 'Service not found.');
    if (service.status !== 'ACTIVE') throw new EcsFault('ServiceNotActiveException', 'Service was not ACTIVE.');
    if (input.taskDefinition !== undefined && service.deploymentController.type !== 'ECS') {
      throw new EcsFault('InvalidParameterException', `Unable to update task definition on services with a ${service.deploymentController.type} deployment controller. Use AWS CodeDeploy to trigger a new deployment.`);
    }
    const before = this.view(service);
    if (input.deploymentConfiguration !== undefined) service.deploymentConfiguration = { ...service.deploymentConfiguration, ...(input.deploymentConfiguration as object) };
    if (typeof input.desiredCount === 'number') {
      if (input.desiredCount < 0) throw new EcsFault('InvalidParameterException', 'desiredCount must be at least 0.');
      service.desiredCount = input.desiredCount;
      const primary = service.deployments[0] as Deployment;
      primary.desiredCount = input.desiredCount;
      primary.updatedAt = this.now;
    }
    if (input.taskDefinition !== undefined) {
      const def = this.taskDefinition(input.taskDefinition);
      if (!def) throw new EcsFault('ClientException', 'TaskDefinition not found.');
      // A new deployment also when the task definition is the same but a deployment is forced.
      if (def.taskDefinitionArn !== service.taskDefinition || input.forceNewDeployment === true) this.deploy(service, def.taskDefinitionArn);
    } else if (input.forceNewDeployment === true) this.deploy(service, service.taskDefinition);
    if (this.staleReads) this.stale.set(service, { view: before, until: this.now + 1_000 });
    return { service: this.view(service) };
  }

  /** A new PRIMARY deployment of `taskDefinition`; the others go on serving until it completes. */
  private deploy(service: EcsService, taskDefinition: string): void {
    for (const d of service.deployments) d.status = 'ACTIVE';
    service.deployments.unshift(this.newDeployment(taskDefinition, service.desiredCount));
    service.taskDefinition = taskDefinition;
  }

  deleteService(input: Record<string, unknown>): Record<string, unknown> {
    this.advance();
    const cluster = this.clusterOf(input.cluster);
    const service = this.serviceOf(cluster, input.service);
    if (!service || service.status === 'INACTIVE') throw new EcsFault('ServiceNotFoundException', 'Service not found.');
    if (service.desiredCount > 0 && input.force !== true) throw new EcsFault('InvalidParameterException', 'The service cannot be stopped while it is scaled above 0.');
    service.status = 'DRAINING';
    service.desiredCount = 0;
    for (const d of service.deployments) d.desiredCount = 0;
    return { service: this.view(service) };
  }

  describeTasks(input: { cluster?: unknown; tasks?: unknown }): Record<string, unknown> {
    this.advance();
    const cluster = this.clusterOf(input.cluster);
    const wanted = new Set(Array.isArray(input.tasks) ? input.tasks : []);
    const tasks: EcsTask[] = [...cluster.services.values()].flatMap((s) => s.tasks).filter((t) => wanted.has(t.arn) || wanted.has(t.arn.split('/').pop()));
    return { tasks: tasks.map((t) => ({ ...t, group: `service:${t.service}` })), failures: [] };
  }

  listTasks(input: { cluster?: unknown; serviceName?: unknown }): Record<string, unknown> {
    this.advance();
    const cluster = this.clusterOf(input.cluster);
    const services = [...cluster.services.values()].filter((s) => input.serviceName === undefined || s.name === input.serviceName);
    return { taskArns: services.flatMap((s) => s.tasks.filter((t) => t.lastStatus !== 'STOPPED').map((t) => t.arn)) };
  }

  /** The tasks a target group has registered (ip targets of the services that name it): for the ELBv2 double. */
  targets(targetGroupArn: string): Array<{ id: string; port: number; health: 'initial' | 'healthy' | 'draining' }> {
    this.advance();
    const out: Array<{ id: string; port: number; health: 'initial' | 'healthy' | 'draining' }> = [];
    for (const cluster of this.clusters.values()) {
      for (const s of cluster.services.values()) {
        const lb = s.loadBalancers.find((l) => l.targetGroupArn === targetGroupArn);
        if (!lb) continue;
        for (const t of s.tasks) {
          if (t.lastStatus === 'RUNNING') out.push({ id: t.ip, port: lb.containerPort ?? 80, health: this.now - (t.startedAt ?? 0) >= 5_000 ? 'healthy' : 'initial' });
        }
      }
    }
    return out;
  }
}
