import { describe, expect, it } from 'vitest';
import { webTaskDefinition } from '../fixture.js';
import { EcsModel } from './model.js';
import { EcsFault } from './types.js';

/* The ECS double's deployment controller on a hand-moved clock: what the ecs target's waits read. */
function model(capacity?: number) {
  let now = 1_000_000;
  const ecs = new EcsModel({ now: () => now });
  ecs.cluster('prod', capacity);
  const v1 = (ecs.registerTaskDefinition(webTaskDefinition('web:1')) as { taskDefinition: { taskDefinitionArn: string } }).taskDefinition.taskDefinitionArn;
  ecs.createService({ cluster: 'prod', serviceName: 'web', taskDefinition: v1, desiredCount: 3, deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } } });
  ecs.settle();
  const register = (image: string) => (ecs.registerTaskDefinition(webTaskDefinition(image)) as { taskDefinition: { taskDefinitionArn: string } }).taskDefinition.taskDefinitionArn;
  const read = () => (ecs.describeServices({ cluster: 'prod', services: ['web'] }) as { services: Array<Record<string, any>> }).services[0] as Record<string, any>;
  return { ecs, v1, register, read, tick: (ms: number) => (now += ms) };
}

describe('the ECS double', () => {
  it('rolls a new task definition out: IN_PROGRESS, both deployments serving, then COMPLETED with the old one drained', () => {
    const { ecs, register, read, tick } = model();
    const v2 = register('web:2');
    ecs.updateService({ cluster: 'prod', service: 'web', taskDefinition: v2 });
    // Eventual consistency: the first read is the service as it was.
    expect(read().deployments).toHaveLength(1);
    const started = read();
    expect(started.deployments.map((d: any) => [d.status, d.taskDefinition, d.rolloutState])).toEqual([
      ['PRIMARY', v2, 'IN_PROGRESS'],
      ['ACTIVE', expect.stringMatching(/web:1$/), 'COMPLETED'],
    ]);
    tick(3_000);
    const done = read();
    expect(done.deployments).toHaveLength(1);
    expect(done.deployments[0]).toMatchObject({ taskDefinition: v2, rolloutState: 'COMPLETED', runningCount: 3 });
    expect(done.events[0].message).toBe('(service web) has reached a steady state.');
  });

  it('the circuit breaker fails a version whose tasks crash and rolls back to the last completed deployment', () => {
    const { ecs, v1, register, read, tick } = model();
    ecs.updateService({ cluster: 'prod', service: 'web', taskDefinition: register('web:bad') });
    tick(4_000);
    const failed = read();
    expect(failed.taskDefinition).toBe(v1);
    expect(failed.deployments[1]).toMatchObject({ status: 'ACTIVE', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' });
    expect(failed.deployments[0]).toMatchObject({ status: 'PRIMARY', taskDefinition: v1, rolloutStateReason: expect.stringContaining('rolling back to deploymentId') });
    tick(5_000);
    expect(read().deployments).toEqual([expect.objectContaining({ taskDefinition: v1, rolloutState: 'COMPLETED' })]);
  });

  it('a cluster without room keeps tasks PENDING and says it was unable to place them', () => {
    const { ecs, register, read, tick } = model(4);
    ecs.updateService({ cluster: 'prod', service: 'web', taskDefinition: register('web:2') });
    tick(60_000);
    const s = read();
    expect(s.deployments[0]).toMatchObject({ rolloutState: 'IN_PROGRESS', runningCount: 1, pendingCount: 2 });
    expect(s.events[0].message).toContain('(service web) was unable to place a task');
  });

  it('answers with the documented exceptions', () => {
    const { ecs } = model();
    const fault = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return [(err as EcsFault).code, (err as EcsFault).message];
      }
      return undefined;
    };
    expect(fault(() => ecs.updateService({ cluster: 'prod', service: 'api', desiredCount: 1 }))).toEqual(['ServiceNotFoundException', 'Service not found.']);
    expect(fault(() => ecs.describeServices({ cluster: 'staging', services: ['web'] }))).toEqual(['ClusterNotFoundException', 'Cluster not found.']);
    expect(fault(() => ecs.describeTaskDefinition({ taskDefinition: 'api:9' }))).toEqual(['ClientException', 'Unable to describe task definition.']);
    expect(fault(() => ecs.deleteService({ cluster: 'prod', service: 'web' }))).toEqual(['InvalidParameterException', 'The service cannot be stopped while it is scaled above 0.']);
    ecs.deleteService({ cluster: 'prod', service: 'web', force: true });
    expect(fault(() => ecs.updateService({ cluster: 'prod', service: 'web', desiredCount: 1 }))).toEqual(['ServiceNotActiveException', 'Service was not ACTIVE.']);
    expect((ecs.describeServices({ cluster: 'prod', services: ['api'] }) as { failures: unknown[] }).failures).toEqual([{ arn: expect.stringContaining('service/prod/api'), reason: 'MISSING' }]);
  });

  it('CreateService with the same clientToken and request returns the service it made; another request under that token is refused', () => {
    const { ecs, v1 } = model();
    const input = { cluster: 'prod', serviceName: 'api', taskDefinition: v1, desiredCount: 1, clientToken: 'run-1-api' };
    const first = (ecs.createService(input) as { service: { serviceArn: string } }).service;
    expect((ecs.createService(input) as { service: { serviceArn: string } }).service.serviceArn).toBe(first.serviceArn);
    expect(ecs.clusters.get('prod')?.services.get('api')?.deployments).toHaveLength(1);
    expect(() => ecs.createService({ ...input, desiredCount: 2 })).toThrow('Creation of service was not idempotent.');
  });

  it('CreateService in a target group no load balancer forwards to: refused as ECS refuses it', () => {
    const { ecs, v1 } = model();
    ecs.loadBalanced = (tg) => tg.endsWith('/web-blue/1');
    const lb = (name: string) => [{ targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/1`, containerName: 'app', containerPort: 8080 }];
    expect(() => ecs.createService({ cluster: 'prod', serviceName: 'api', taskDefinition: v1, loadBalancers: lb('web-green') })).toThrow(
      'The target group with targetGroupArn arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/1 does not have an associated load balancer.',
    );
    expect(ecs.createService({ cluster: 'prod', serviceName: 'api', taskDefinition: v1, loadBalancers: lb('web-blue') })).toBeDefined();
  });

  it('keeps task definition tags, and returns them only with include TAGS', () => {
    const { ecs, v1 } = model();
    expect(ecs.describeTaskDefinition({ taskDefinition: v1 })).not.toHaveProperty('tags');
    expect(ecs.describeTaskDefinition({ taskDefinition: v1, include: ['TAGS'] })).toMatchObject({ tags: [{ key: 'team', value: 'web' }] });
  });
});
