import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVirtualClock, type VirtualClock } from '../../clocks/virtual.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import { fakeDeps } from '../fakes.js';
import type { MemoryProviderStates } from '../state.js';
import { ecsDouble, type EcsDouble } from './ecs.js';
import { elbv2Double, type Elbv2Model } from './elbv2.js';
import { AwsServer } from './server.js';

export interface AwsFixture {
  server: AwsServer;
  ecs: EcsDouble;
  elbv2: Elbv2Model;
  clock: VirtualClock;
  dir: string;
  region: string;
  /** The static test keys a step's environment carries (what aws-actions/configure-aws-credentials exports). */
  env: Record<string, string>;
  /** Deps whose `aws` settings name the double, on the virtual clock. */
  deps(states: MemoryProviderStates): ProviderDeps;
  cleanup(): Promise<void>;
}

/**
 * The AWS endpoint double with ECS and ELBv2 on a virtual clock: tasks start in 2 s of it (images
 * tagged `bad` or `crash` stop as they start), ECS registers its running tasks in the target groups
 * its services name (healthy 5 s after they start), and a just-updated service reads back as it
 * was, once (ECS's eventual consistency). Cluster `prod` exists, empty; a temp dir holds the
 * workflow's files and `web.yaml`, the ecs target's manifest of service `web` (webManifest).
 */
export async function awsFixture(options: { staleReads?: boolean } = {}): Promise<AwsFixture> {
  const clock = createVirtualClock();
  const region = 'us-east-1';
  const server = await new AwsServer().start();
  const ecs = ecsDouble(server, { now: () => clock.now(), region, ...(options.staleReads !== undefined ? { staleReads: options.staleReads } : {}) });
  const elbv2 = elbv2Double(server, region);
  elbv2.targetSource = (tg) => ecs.targets(tg);
  // ECS creates a service in a target group only when a load balancer forwards to it.
  ecs.loadBalanced = (tg) => !elbv2.targetGroups.has(tg) || elbv2.loadBalancersOf(tg).length > 0;
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-aws-'));
  const env = server.env(region);
  ecs.cluster('prod');
  writeFileSync(join(dir, 'web.yaml'), JSON.stringify(webManifest()));
  return {
    server,
    ecs,
    elbv2,
    clock,
    dir,
    region,
    env,
    deps: (states) => fakeDeps({ workDir: dir, clock, environment: 'production' }, { states, settings: { aws: { region, endpoint: server.url } } }),
    cleanup: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A task definition family `web` (one container `app` on port 8080) and its first revision's input. */
export function webTaskDefinition(image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.0.0', family = 'web'): Record<string, unknown> {
  return {
    family,
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: '256',
    memory: '512',
    executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    containerDefinitions: [{ name: 'app', image, essential: true, portMappings: [{ containerPort: 8080, protocol: 'tcp' }] }],
    tags: [{ key: 'team', value: 'web' }],
  };
}

/** The ecs target's manifest of a first deploy: the task definition and the service (3 tasks, circuit breaker rolling back). */
export function webManifest(targetGroupArn?: string): Record<string, unknown> {
  return {
    taskDefinition: webTaskDefinition(),
    service: {
      desiredCount: 3,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-0a'], securityGroups: ['sg-0a'] } },
      ...(targetGroupArn ? { loadBalancers: [{ targetGroupArn, containerName: 'app', containerPort: 8080 }] } : {}),
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
    },
  };
}

/** The services of cluster `prod` as they stand (ACTIVE ones: a deleted service drains away), by name. */
export function servicesView(f: AwsFixture): unknown {
  const cluster = f.ecs.clusters.get('prod');
  return [...(cluster?.services.values() ?? [])]
    .filter((s) => s.status === 'ACTIVE')
    .map((s) => ({ name: s.name, taskDefinition: s.taskDefinition.split('/').pop(), desiredCount: s.desiredCount, loadBalancers: s.loadBalancers }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Seeds cluster `prod` and a service `web` of 3 tasks running `image` behind `targetGroupArn` (when
 * given), its deployment complete, with the circuit breaker on and rolling back.
 */
export function seedWebService(f: AwsFixture, image?: string, targetGroupArn?: string, options: { capacity?: number; desiredCount?: number } = {}): void {
  f.ecs.cluster('prod', options.capacity);
  const def = f.ecs.registerTaskDefinition(webTaskDefinition(image)) as { taskDefinition: { taskDefinitionArn: string } };
  f.ecs.createService({
    cluster: 'prod',
    serviceName: 'web',
    taskDefinition: def.taskDefinition.taskDefinitionArn,
    desiredCount: options.desiredCount ?? 3,
    launchType: 'FARGATE',
    loadBalancers: targetGroupArn ? [{ targetGroupArn, containerName: 'app', containerPort: 8080 }] : [],
    deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
  });
  const stale = f.ecs.staleReads;
  f.ecs.staleReads = false;
  // Its first deployment done before the test begins.
  f.ecs.settle();
  f.ecs.staleReads = stale;
}
