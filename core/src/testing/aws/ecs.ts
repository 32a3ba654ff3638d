import { EcsModel, type EcsModelOptions } from './ecs/model.js';
import type { AwsServer } from './server.js';

/*
 * The ECS API double: the operations the ecs target calls, on the AWS JSON 1.1 protocol
 * (`X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>`), served by an AwsServer over
 * the state of ecs/model.ts. Covered: RegisterTaskDefinition, DescribeTaskDefinition,
 * CreateService, DescribeServices, UpdateService, DeleteService, DescribeTasks, ListTasks.
 * Not covered: task sets (EXTERNAL and CODE_DEPLOY controllers), capacity providers, service
 * connect, tags on their own, DeregisterTaskDefinition, standalone RunTask.
 */

export const ECS_PREFIX = 'AmazonEC2ContainerServiceV20141113';

export type { EcsModelOptions } from './ecs/model.js';
export { EcsModel } from './ecs/model.js';

/** Registers the ECS operations on `server` over a new model; returns the model (the test's handle on ECS's state). */
export function ecsDouble(server: AwsServer, options: EcsModelOptions): EcsModel {
  const ecs = new EcsModel(options);
  const on = (operation: string, handler: (params: Record<string, unknown>) => unknown) => server.json(ECS_PREFIX, operation, handler);
  on('RegisterTaskDefinition', (p) => ecs.registerTaskDefinition(p));
  on('DescribeTaskDefinition', (p) => ecs.describeTaskDefinition(p));
  on('CreateService', (p) => ecs.createService(p));
  on('DescribeServices', (p) => ecs.describeServices(p));
  on('UpdateService', (p) => ecs.updateService(p));
  on('DeleteService', (p) => ecs.deleteService(p));
  on('DescribeTasks', (p) => ecs.describeTasks(p));
  on('ListTasks', (p) => ecs.listTasks(p));
  return ecs;
}
