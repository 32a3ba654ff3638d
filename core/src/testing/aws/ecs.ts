import { EcsModel, type EcsModelOptions } from './ecs/model.js';
import { AwsFault, type AwsServer } from './server.js';

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

/**
 * The model with faults aimed at one service: the next `times` calls of `operation` naming `service`
 * answer `fault` (default: ServerException); with `after`, once the call has been done (an answer lost).
 */
export interface EcsDouble extends EcsModel {
  failOn(operation: string, service: string, fault?: AwsFault, times?: number, after?: boolean): void;
}

/** Registers the ECS operations on `server` over a new model; returns the model (the test's handle on ECS's state). */
export function ecsDouble(server: AwsServer, options: EcsModelOptions): EcsDouble {
  const ecs = new EcsModel(options) as EcsDouble;
  const faults: Array<{ operation: string; service: string; fault: AwsFault; times: number; after: boolean }> = [];
  ecs.failOn = (operation, service, fault = new AwsFault('ServerException', 'Service encountered an unexpected error.', 500), times = 1, after = false) => {
    faults.push({ operation, service, fault, times, after });
  };
  const on = (operation: string, handler: (params: Record<string, unknown>) => unknown) =>
    server.json(ECS_PREFIX, operation, (params: Record<string, unknown>) => {
      const names = [params.service, params.serviceName, ...(Array.isArray(params.services) ? params.services : [])];
      const hit = faults.find((f) => f.operation === operation && f.times > 0 && names.includes(f.service));
      if (hit) {
        hit.times -= 1;
        if (hit.after) handler(params);
        throw hit.fault;
      }
      return handler(params);
    });
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
