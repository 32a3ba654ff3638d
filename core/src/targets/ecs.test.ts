import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import { awsFixture, type AwsFixture, seedWebService, webTaskDefinition } from '../testing/aws/fixture.js';
import { awsFault } from '../testing/aws/server.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeStepContext } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as ecs from './ecs.js';

/*
 * What the ecs target says when it cannot do its work, and the ECS behaviours its waits rely on,
 * through the real SDK against the ECS double (service `web` of cluster `prod` runs web:1.0.0).
 */
let aws: AwsFixture;
let lines: string[];
let changes: Change[];
beforeEach(async () => {
  aws = await awsFixture();
  seedWebService(aws, 'registry.local/web:1.0.0');
  lines = [];
  changes = [];
});
afterEach(() => aws.cleanup());

const ctx = () => fakeStepContext({ env: aws.env, clock: aws.clock, changes, log: { info: (m) => lines.push(m), warn: (m) => lines.push(m), output() {} } });
const target = (extra: Record<string, unknown> = {}, states = new MemoryProviderStates()) =>
  ecs.create(ecs.configSchema.parse({ type: 'ecs', cluster: 'prod', service: 'web', interval: '1s', ...extra }), aws.deps(states));
const message = async (p: Promise<unknown>) => {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(ProviderError);
  return (err as Error).message;
};

describe('ecs target', () => {
  it('sets the image of the container named, keeping the others', async () => {
    aws.ecs.registerTaskDefinition({ ...webTaskDefinition('registry.local/web:1.0.0'), containerDefinitions: [{ name: 'proxy', image: 'envoy:1.30' }, { name: 'app', image: 'registry.local/web:1.0.0' }] });
    aws.ecs.updateService({ cluster: 'prod', service: 'web', taskDefinition: 'web:2' });
    aws.clock.advance(5_000);
    await target({ container: 'app' }).deploy('2.0.0', ctx());
    expect(aws.ecs.taskDefinition('web:3')?.containerDefinitions.map((c) => c.image)).toEqual(['envoy:1.30', 'registry.local/web:2.0.0']);
  });

  it('a service that does not exist, without a manifest: says to create it or give one', async () => {
    expect(await message(target({ service: 'api' }).deploy('2.0.0', ctx()))).toBe(
      'ecs target: service prod/api does not exist (or was deleted); create it first (aws ecs create-service), or give the target a manifest to create it from on a first deploy',
    );
  });

  it('a container that is not in the task definition: names the ones there are', async () => {
    expect(await message(target({ container: 'worker' }).deploy('2.0.0', ctx()))).toBe(
      "ecs target: task definition web:1 has no container 'worker' (its containers: app); correct the target's container",
    );
  });

  it('a manifest that is not one: says what it must hold', async () => {
    writeFileSync(join(aws.dir, 'bad.yaml'), 'service: {}\n');
    const err = await message(target({ service: 'api', manifest: 'bad.yaml' }).deploy('2.0.0', ctx()));
    expect(err).toBe(
      `ecs target: the manifest ${join(aws.dir, 'bad.yaml')} has no task definition with a family and containerDefinitions; it holds \`taskDefinition:\` (as register-task-definition takes it) and \`service:\` (as create-service takes it)`,
    );
  });

  it('revert refuses to put the old task definition back over one someone else deployed since', async () => {
    const states = new MemoryProviderStates();
    const t = target({}, states);
    const previous = await t.current(ctx());
    await t.deploy('2.0.0', ctx());
    aws.ecs.registerTaskDefinition(webTaskDefinition('registry.local/web:hotfix'));
    aws.ecs.updateService({ cluster: 'prod', service: 'web', taskDefinition: 'web:3' });
    // Past ECS's eventual consistency: within a second of an update a read may still show the one before.
    aws.clock.advance(2_000);
    expect(await message(t.revert(previous, ctx()))).toBe(
      'ecs target: service prod/web runs task definition web:3, which rollgate did not set (it set web:2): someone else deployed it since, so rollgate does not put web:1 back over it; check it, and revert by hand (aws ecs update-service --cluster prod --service web --task-definition …) if it should go',
    );
  });

  it('revert of a service deleted since: says it cannot put the version back', async () => {
    const t = target();
    const previous = await t.current(ctx());
    aws.ecs.deleteService({ cluster: 'prod', service: 'web', force: true });
    expect(await message(t.revert(previous, ctx()))).toBe('ecs target: service prod/web does not exist, so rollgate cannot put 1.0.0 back; create it again (aws ecs create-service) or deploy it');
  });

  it('a deployment that does not complete in time: the wait runs out with the tasks and the last events', async () => {
    expect(await message(target({ rolloutTimeout: '30s' }).deploy('slow', ctx()))).toBe(
      'ecs target: the deployment of web:2 to service prod/web did not complete within 30s (0 of 3 tasks running, 3 pending). Last events: none. The service still points at web:2 and ECS keeps trying to start its tasks after rollgate stops waiting; the rollback puts the task definition before back. A task that cannot be placed needs capacity in the cluster; rolloutTimeout waits longer',
    );
    expect(lines).toContain('ecs: service prod/web: deployment ' + (aws.ecs.clusters.get('prod')?.services.get('web')?.deployments[0]?.id ?? '') + ' IN_PROGRESS: 0 of 3 tasks running, 3 pending');
  });

  it('a deployment whose circuit breaker does not roll back: FAILED, and nothing said about a rollback', async () => {
    aws.ecs.updateService({ cluster: 'prod', service: 'web', deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } } });
    const err = await message(target().deploy('crash', ctx()));
    expect(err).toMatch(/^ecs target: the deployment ecs-svc\/\d+ of web:2 to service prod\/web FAILED: ECS deployment circuit breaker: tasks failed to start\. \(0 of 3 tasks running, 3 failed\)\. Last events: "\(service web\) \(deployment ecs-svc\/\d+\) deployment failed: tasks failed to start\."/);
  });

  it('a circuit breaker whose rollback completed between two reads: says the circuit breaker rolled it back, not that someone else deployed', async () => {
    // Read once a minute: the tasks crash, the breaker fails the deployment and web:1 is back before the next read.
    const err = await message(target({ interval: '60s' }).deploy('crash', ctx()));
    expect(err).toMatch(
      /^ecs target: the deployment of web:2 to service prod\/web failed and ECS's deployment circuit breaker rolled the service back to web:1 \("\(service web\) \(deployment ecs-svc\/\d+\) deployment failed: rolling back to web:1\."\)\. Last events: .*See the stopped tasks' reasons \(aws ecs describe-tasks\) for why they did not start$/,
    );
    expect(err).not.toContain('someone else');
  });

  it('a deploy copies the task definition tags to the new revision', async () => {
    await target().deploy('2.0.0', ctx());
    expect(aws.ecs.describeTaskDefinition({ taskDefinition: 'web:2', include: ['TAGS'] })).toMatchObject({ tags: [{ key: 'team', value: 'web' }] });
  });

  it('someone else deploys while rollgate waits: says so instead of waiting for a deployment that will never be PRIMARY', async () => {
    aws.ecs.registerTaskDefinition(webTaskDefinition('registry.local/web:other'));
    // web:3 (slow) is set by rollgate; someone else sets web:2 while it waits, and ECS forgets web:3's deployment when web:2's completes.
    let done = false;
    const log = { info: (m: string) => {
      if (!done && m.includes('IN_PROGRESS')) {
        done = true;
        aws.ecs.updateService({ cluster: 'prod', service: 'web', taskDefinition: 'web:2' });
      }
    }, warn() {}, output() {} };
    expect(await message(target().deploy('slow', fakeStepContext({ env: aws.env, clock: aws.clock, log })))).toBe(
      'ecs target: service prod/web runs web:2 now, not web:3 that rollgate set: someone else deployed it while rollgate waited; check the service\'s deployments (aws ecs describe-services) and run again',
    );
  });

  it('a call ECS refuses for lack of a permission: names the call, and the grant to make', async () => {
    aws.server.fail('UpdateService', awsFault('AccessDeniedException', 'User: arn:aws:sts::123456789012:assumed-role/deploy/gh is not authorized to perform: ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/prod/web'));
    expect(await message(target().deploy('2.0.0', ctx()))).toBe(
      'ecs target: cannot update service prod/web: access denied (AccessDeniedException): User: arn:aws:sts::123456789012:assumed-role/deploy/gh is not authorized to perform: ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/prod/web; grant the action to the role rollgate runs as',
    );
  });

  it('a service under CodeDeploy: says rollgate does not deploy it, before changing anything', async () => {
    aws.ecs.createService({ cluster: 'prod', serviceName: 'api', taskDefinition: 'web:1', desiredCount: 1, deploymentController: { type: 'CODE_DEPLOY' } });
    expect(await message(target({ service: 'api' }).deploy('2.0.0', ctx()))).toBe(
      'ecs target: service prod/api uses the CODE_DEPLOY deployment controller, whose deployments ECS does not take through UpdateService; rollgate deploys services with the ECS (rolling update) controller: deploy this one with CodeDeploy, or recreate it with deploymentController ECS',
    );
    expect(aws.server.callsOf('RegisterTaskDefinition')).toEqual([]);
  });

  it('a cluster that does not exist: ECS’s own words, naming the service', async () => {
    expect(await message(target({ cluster: 'staging' }).current(ctx()))).toBe('ecs target: cannot read service staging/web: ClusterNotFoundException: Cluster not found.');
  });

  it('promote with no candidate: says deployCandidate never ran', async () => {
    expect(await message((target().candidates as NonNullable<ReturnType<typeof target>['candidates']>).promote(ctx()))).toBe(
      'ecs target: there is no candidate to promote: no candidate task definition was kept for candidate service prod/web-candidate (deployCandidate never ran in this run)',
    );
  });

  it('a stale read just after an update does not end the wait early: it waits for the new deployment', async () => {
    await target().deploy('2.0.0', ctx());
    expect(aws.ecs.clusters.get('prod')?.services.get('web')?.deployments).toEqual([expect.objectContaining({ taskDefinition: expect.stringMatching(/web:2$/), rolloutState: 'COMPLETED' })]);
    expect(changes).toEqual([{ object: 'ecs-service/prod/web', field: 'taskDefinition', before: 'web:1', after: 'web:2' }]);
  });

  describe('candidates', () => {
    const candidates = (t: ReturnType<typeof target>) => t.candidates as NonNullable<ReturnType<typeof target>['candidates']>;

    it('a candidate moved to another version and count: both changes reported', async () => {
      const c = candidates(target());
      await c.deployCandidate('2.0.0', 1, ctx());
      changes.length = 0;
      await c.deployCandidate('2.0.1', 2, ctx());
      expect(changes).toEqual([
        { object: 'ecs-service/prod/web-candidate', field: 'taskDefinition', before: 'web:2', after: 'web:3' },
        { object: 'ecs-service/prod/web-candidate', field: 'desiredCount', before: 1, after: 2 },
      ]);
    });

    it('removeCandidate leaves a stable count someone else set since, and says so', async () => {
      const c = candidates(target());
      await c.deployCandidate('2.0.0', 1, ctx());
      await c.scale({ stable: 2, candidate: 1 }, ctx());
      aws.ecs.updateService({ cluster: 'prod', service: 'web', desiredCount: 5 });
      aws.clock.advance(2_000);
      await c.removeCandidate(ctx());
      expect(aws.ecs.clusters.get('prod')?.services.get('web')?.desiredCount).toBe(5);
      expect(lines).toContain('ecs target: service prod/web runs 5 tasks, not the 2 rollgate set: someone else scaled it, so rollgate leaves its count');
    });

    it('a first deploy through a candidate: promote creates the stable service from the manifest with the candidate’s task definition', async () => {
      const c = candidates(target({ service: 'api', manifest: 'web.yaml' }));
      expect(await c.fullScale(ctx())).toBe(3);
      await c.deployCandidate('2.0.0', 3, ctx());
      await c.promote(ctx());
      const api = aws.ecs.clusters.get('prod')?.services.get('api');
      expect(api).toMatchObject({ status: 'ACTIVE', desiredCount: 3 });
      expect(aws.ecs.taskDefinition(api?.taskDefinition)?.containerDefinitions[0]?.image).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2.0.0');
      expect(changes.filter((x) => x.object === 'ecs-service/prod/api')).toEqual([{ object: 'ecs-service/prod/api', field: 'created', before: null, after: 'web:2' }]);
    });
  });
});
