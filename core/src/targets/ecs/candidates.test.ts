import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../errors.js';
import type { Change } from '../../model/events.js';
import { awsFixture, type AwsFixture, seedWebService } from '../../testing/aws/fixture.js';
import { rejection } from '../../testing/contracts/kit.js';
import { fakeStepContext } from '../../testing/fakes.js';
import { MemoryProviderStates } from '../../testing/state.js';
import * as ecs from '../ecs.js';

/*
 * The ecs target's candidate service, through the real SDK against the ECS and ELBv2 doubles:
 * whose the candidate service is, what it is created with, and what ECS refuses of it. Service
 * `web` of cluster `prod` runs web:1.0.0 behind target group web-blue, which a rule forwards to.
 */
let aws: AwsFixture;
let changes: Change[];
let lines: string[];
let blue: string;
let green: string;
let rule: string;
beforeEach(async () => {
  aws = await awsFixture();
  blue = aws.elbv2.targetGroup('web-blue');
  green = aws.elbv2.targetGroup('web-green');
  const listener = aws.elbv2.listener([{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }]);
  rule = aws.elbv2.rule(listener, 10, [{ Type: 'forward', TargetGroupArn: blue }]);
  seedWebService(aws, 'registry.local/web:1.0.0', blue);
  changes = [];
  lines = [];
});
afterEach(() => aws.cleanup());

const ctx = () => fakeStepContext({ env: aws.env, clock: aws.clock, changes, log: { info: (m) => lines.push(m), warn: (m) => lines.push(m), output() {} } });
const candidates = (extra: Record<string, unknown> = {}, states = new MemoryProviderStates()) =>
  ecs.create(ecs.configSchema.parse({ type: 'ecs', cluster: 'prod', service: 'web', interval: '1s', ...extra }), aws.deps(states)).candidates as NonNullable<ReturnType<typeof ecs.create>['candidates']>;
const message = async (p: Promise<unknown>) => {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(ProviderError);
  return (err as Error).message;
};
const services = () => aws.ecs.cluster('prod').services;
const revisions = () => aws.ecs.families.get('web')?.length;

describe('ecs target candidates', () => {
  it('a candidate service rollgate did not create: refused with nothing changed, and never deleted', async () => {
    aws.ecs.createService({ cluster: 'prod', serviceName: 'web-candidate', taskDefinition: 'web:1', desiredCount: 2 });
    const c = candidates();
    const err = await message(c.deployCandidate('2.0.0', 1, ctx()));
    expect(err).toBe(
      'ecs target: candidate service prod/web-candidate already exists and rollgate did not create it, so rollgate does not take it over (nor delete it afterwards); delete it if it is a leftover of an earlier run (aws ecs delete-service --cluster prod --service web-candidate --force), or set the target\'s candidateService to a name no service has',
    );
    expect((await rejection(c.deployCandidate('2.0.0', 1, ctx())) as ProviderError).nothingChanged).toBe(true);
    await c.scale({ stable: 2, candidate: 1 }, ctx());
    await c.removeCandidate(ctx());
    expect(c.retirePromoted).toBeDefined();
    await c.retirePromoted?.(ctx());
    expect(services().get('web-candidate')).toMatchObject({ status: 'ACTIVE', desiredCount: 2, taskDefinition: expect.stringMatching(/web:1$/) });
    expect(revisions()).toBe(1);
    expect(changes.filter((x) => x.object === 'ecs-service/prod/web-candidate')).toEqual([]);
  });

  it('the candidate this run created is its own after a crash: a resumed process changes it and deletes it', async () => {
    const states = new MemoryProviderStates();
    await candidates({}, states).deployCandidate('2.0.0', 1, ctx());
    const resumed = candidates({}, states);
    await resumed.deployCandidate('2.0.0', 2, ctx());
    expect(services().get('web-candidate')?.desiredCount).toBe(2);
    await resumed.removeCandidate(ctx());
    expect(services().get('web-candidate')?.status).not.toBe('ACTIVE');
    expect(changes.filter((x) => x.field === 'created')).toEqual([
      { object: 'ecs-service/prod/web-candidate', field: 'created', before: null, after: 'web:2' },
      { object: 'ecs-service/prod/web-candidate', field: 'created', before: 'web:2', after: null },
    ]);
  });

  it('CreateService whose answer is lost: the retry carries the same clientToken and gets the service the first call made', async () => {
    aws.ecs.failOn('CreateService', 'web-candidate', undefined, 1, true);
    await candidates().deployCandidate('2.0.0', 1, ctx());
    const creates = aws.server.calls.filter((x) => x.operation === 'CreateService');
    expect(creates).toHaveLength(2);
    const tokens = creates.map((x) => (x.params as { clientToken?: string }).clientToken);
    expect(tokens[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(tokens[1]).toBe(tokens[0]);
    expect(services().get('web-candidate')).toMatchObject({ status: 'ACTIVE', desiredCount: 1 });
    expect(changes.filter((x) => x.field === 'created')).toHaveLength(1);
  });

  it('a candidate target group no rule forwards to: ECS refuses it, and the message says to add it to the rule with weight 0', async () => {
    const err = await message(candidates({ candidateTargetGroupArn: green }).deployCandidate('2.0.0', 1, ctx()));
    expect(err).toBe(
      `ecs target: ECS refuses to create service prod/web-candidate in target group web-green, which no listener rule of a load balancer forwards to yet; add target group ${green} to the rule's forward action with weight 0 first (the alb router then weighs it), and run again`,
    );
    expect(services().get('web-candidate')).toBeUndefined();
    aws.elbv2.modifyRule({ RuleArn: rule, Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: 1 }, { TargetGroupArn: green, Weight: 0 }] } }] });
    await candidates({ candidateTargetGroupArn: green }).deployCandidate('2.0.0', 1, ctx());
    expect(services().get('web-candidate')?.loadBalancers).toEqual([{ targetGroupArn: green, containerName: 'app', containerPort: 8080 }]);
  });

  it('candidateTargetGroupArn with a stable service behind no load balancer: refused before anything changes', async () => {
    aws.ecs.deleteService({ cluster: 'prod', service: 'web', force: true });
    aws.clock.advance(60_000);
    seedWebService(aws, 'registry.local/web:1.0.0');
    const before = revisions();
    const err = await rejection(candidates({ candidateTargetGroupArn: green }).deployCandidate('2.0.0', 1, ctx()));
    expect((err as Error).message).toBe(
      `ecs target: candidateTargetGroupArn is set, but service prod/web has no load balancer (no target group, container and port) for the candidate to copy, so rollgate cannot register the candidate's tasks in ${green}; put the stable service behind its target group first, or remove candidateTargetGroupArn`,
    );
    expect((err as ProviderError).nothingChanged).toBe(true);
    expect(revisions()).toBe(before);
  });

  it('copies Cloud Map registries, Service Connect (as a client) and volume configurations to the candidate', async () => {
    const kept = {
      service: { serviceRegistries: [{ registryArn: 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-web' }] },
      deployment: {
        serviceConnectConfiguration: { enabled: true, namespace: 'prod.local' },
        volumeConfigurations: [{ name: 'data', managedEBSVolume: { roleArn: 'arn:aws:iam::123456789012:role/ebs', sizeInGiB: 20 } }],
      },
    };
    (services().get('web') as { kept?: unknown }).kept = kept;
    await candidates().deployCandidate('2.0.0', 1, ctx());
    expect(services().get('web-candidate')?.kept).toEqual(kept);
  });

  it('a stable service publishing Service Connect endpoints: refused, as a second service cannot publish the same names', async () => {
    (services().get('web') as { kept?: unknown }).kept = { service: {}, deployment: { serviceConnectConfiguration: { enabled: true, namespace: 'prod.local', services: [{ portName: 'http', discoveryName: 'web' }] } } };
    const err = await rejection(candidates().deployCandidate('2.0.0', 1, ctx()));
    expect((err as Error).message).toBe(
      'ecs target: service prod/web publishes Service Connect endpoints (web) in namespace prod.local, and a second service cannot publish the same names there, so rollgate cannot copy its Service Connect configuration to candidate service prod/web-candidate; deploy this service without a candidate (a direct deploy), or move the endpoints to a service that does not take candidates',
    );
    expect((err as ProviderError).nothingChanged).toBe(true);
    expect(revisions()).toBe(1);
  });
});
