import type {
  ContainerDefinition,
  CreateServiceCommandInput,
  Deployment,
  ECSClient,
  RegisterTaskDefinitionCommandInput,
  Service,
  Tag,
  TaskDefinition,
  UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { createHash } from 'node:crypto';
import { awsClient, awsSend, type SdkCommand, sdk as awsSdk } from '../../aws/client.js';
import { ProviderError } from '../../errors.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import { shortArn } from './images.js';

/*
 * The ECS calls of the ecs target, through the SDK v3 client the aws family makes (credentials
 * from the step's environment, retries on the step's clock). Each call says what it does, so a
 * throttled, refused or denied call names the service and the object in its message.
 */

export type { ContainerDefinition, Deployment, Service, TaskDefinition };

/** The fields of a described task definition that RegisterTaskDefinition takes back. */
const REGISTERABLE = [
  'family',
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'containerDefinitions',
  'volumes',
  'placementConstraints',
  'requiresCompatibilities',
  'cpu',
  'memory',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const;

/** The fields of a described service a candidate service is created with, beside its name, task definition and count. */
const COPIED = [
  'launchType',
  'capacityProviderStrategy',
  'platformVersion',
  'networkConfiguration',
  'placementConstraints',
  'placementStrategy',
  'deploymentConfiguration',
  'healthCheckGracePeriodSeconds',
  'schedulingStrategy',
  'enableECSManagedTags',
  'enableExecuteCommand',
  'propagateTags',
  'serviceRegistries',
  'availabilityZoneRebalancing',
] as const;

/** The fields of a service ECS describes on its PRIMARY deployment only, which CreateService takes too. */
const COPIED_FROM_DEPLOYMENT = ['serviceConnectConfiguration', 'volumeConfigurations', 'vpcLatticeConfigurations'] as const;

export interface EcsApi {
  /** The service, or `undefined` when it is missing or deleted (INACTIVE, or DRAINING after a delete). */
  service(name: string, ctx: StepContext): Promise<Service | undefined>;
  /** `true` while a deleted service of this name still stops its tasks: ECS refuses a new one of the same name until then. */
  draining(name: string, ctx: StepContext): Promise<boolean>;
  taskDefinition(arn: string, ctx: StepContext): Promise<{ def: TaskDefinition; tags: Tag[] }>;
  /** Registers a revision of `def`'s family with `containers`; returns its ARN. */
  register(def: TaskDefinition, tags: Tag[], containers: ContainerDefinition[], ctx: StepContext): Promise<string>;
  registerInput(input: RegisterTaskDefinitionCommandInput, ctx: StepContext): Promise<string>;
  update(input: Omit<UpdateServiceCommandInput, 'cluster'>, ctx: StepContext): Promise<Service>;
  /** Creates a service; `clientToken` makes a retry after a lost answer return the same service. */
  create(input: Omit<CreateServiceCommandInput, 'cluster'>, ctx: StepContext): Promise<Service>;
  /** Deletes the service and its tasks (force: no scale to 0 first). */
  remove(name: string, ctx: StepContext): Promise<void>;
  /** The fields of `from` a copy of it is created with. */
  copyOf(from: Service): Partial<CreateServiceCommandInput>;
  cluster: string;
}

export function ecsApi(deps: ProviderDeps, cluster: string): EcsApi {
  const client = awsClient<ECSClient>(deps, 'ecs', async () => (await awsSdk(import('@aws-sdk/client-ecs'))).ECSClient);
  const sdk = () => awsSdk(import('@aws-sdk/client-ecs'));
  const send = async <T>(make: (m: typeof import('@aws-sdk/client-ecs')) => unknown, what: string, ctx: StepContext): Promise<T> => {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new ProviderError(`ecs target: ${what} was cancelled`);
    const c = await client(ctx);
    return awsSend<T>(c, make(await sdk()) as SdkCommand<T>, { service: 'ecs target', what, ctx });
  };
  const where = (name: string) => `service ${cluster}/${name}`;

  return {
    cluster,
    async service(name, ctx) {
      const out = await send<{ services?: Service[]; failures?: { reason?: string }[] }>(
        (m) => new m.DescribeServicesCommand({ cluster, services: [name] }),
        `read ${where(name)}`,
        ctx,
      );
      const s = out.services?.[0];
      return s && s.status === 'ACTIVE' ? s : undefined;
    },
    async draining(name, ctx) {
      const out = await send<{ services?: Service[] }>((m) => new m.DescribeServicesCommand({ cluster, services: [name] }), `read ${where(name)}`, ctx);
      return out.services?.[0]?.status === 'DRAINING';
    },
    async taskDefinition(arn, ctx) {
      const out = await send<{ taskDefinition?: TaskDefinition; tags?: Tag[] }>(
        (m) => new m.DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }),
        `read task definition ${shortArn(arn)}`,
        ctx,
      );
      if (!out.taskDefinition) throw new ProviderError(`ecs target: task definition ${shortArn(arn)} was not found`);
      return { def: out.taskDefinition, tags: out.tags ?? [] };
    },
    async register(def, tags, containers, ctx) {
      const input: Record<string, unknown> = {};
      for (const field of REGISTERABLE) if (def[field] !== undefined) input[field] = def[field];
      return this.registerInput({ ...(input as unknown as RegisterTaskDefinitionCommandInput), containerDefinitions: containers, ...(tags.length > 0 ? { tags } : {}) }, ctx);
    },
    async registerInput(input, ctx) {
      const out = await send<{ taskDefinition?: TaskDefinition }>((m) => new m.RegisterTaskDefinitionCommand(input), `register a revision of task definition ${input.family}`, ctx);
      return out.taskDefinition?.taskDefinitionArn as string;
    },
    async update(input, ctx) {
      const out = await send<{ service?: Service }>((m) => new m.UpdateServiceCommand({ ...input, cluster }), `update ${where(String(input.service))}`, ctx);
      return out.service as Service;
    },
    async create(input, ctx) {
      // The same token on every attempt of this run: a retry after a lost answer gets the service the first one made.
      const clientToken = input.clientToken ?? createHash('sha256').update(`${ctx.runId}\n${cluster}\n${input.serviceName}\n${input.taskDefinition}`).digest('hex').slice(0, 32);
      try {
        const out = await send<{ service?: Service }>((m) => new m.CreateServiceCommand({ ...input, cluster, clientToken }), `create ${where(String(input.serviceName))}`, ctx);
        return out.service as Service;
      } catch (err) {
        const group = /target group with targetGroupArn (\S+) does not have an associated load balancer/.exec((err as Error).message)?.[1];
        if (!group) throw err;
        throw new ProviderError(
          `ecs target: ECS refuses to create ${where(String(input.serviceName))} in target group ${group.replace(/^.*:targetgroup\//, '').replace(/\/.*$/, '')}, which no listener rule of a load balancer forwards to yet; add target group ${group} to the rule's forward action with weight 0 first (the alb router then weighs it), and run again`,
        );
      }
    },
    async remove(name, ctx) {
      await send((m) => new m.DeleteServiceCommand({ cluster, service: name, force: true }), `delete ${where(name)}`, ctx);
    },
    copyOf(from) {
      const out: Record<string, unknown> = {};
      for (const field of COPIED) if (from[field] !== undefined) out[field] = from[field];
      const primary = (from.deployments ?? []).find((d) => d.status === 'PRIMARY');
      for (const field of COPIED_FROM_DEPLOYMENT) if (primary?.[field] !== undefined) out[field] = primary[field];
      return out as Partial<CreateServiceCommandInput>;
    },
  };
}
