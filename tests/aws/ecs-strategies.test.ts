import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { FileRunStore } from '../../core/src/engine/file-run-store.js';
import type { RunEvent } from '../../core/src/model/events.js';
import { awsFixture, type AwsFixture, seedWebService } from '../../core/src/testing/aws/fixture.js';

/*
 * The ecs target and the alb router end to end through the engine, with the real AWS SDK v3
 * clients against the ECS and ELBv2 doubles on a virtual clock: tasks start in 2 s of it and are
 * healthy in their target group 5 s later; an image tagged `bad` crashes and the circuit breaker
 * (on, rolling back) fails its deployment. Service `web` of cluster `prod` runs web:1.0.0 (3 tasks)
 * behind target group web-blue; a listener rule forwards to web-blue (weight 1) and web-green
 * (weight 0). What a user would check after a run is checked on the doubles: task definitions,
 * counts, the rule's weights.
 */
let aws: AwsFixture;
let arns: { blue: string; green: string; rule: string };
const REPO = '123456789012.dkr.ecr.us-east-1.amazonaws.com/web';

async function setup(options: { capacity?: number } = {}): Promise<void> {
  aws = await awsFixture();
  const blue = aws.elbv2.targetGroup('web-blue');
  const green = aws.elbv2.targetGroup('web-green');
  const listener = aws.elbv2.listener([{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } } as never]);
  const rule = aws.elbv2.rule(listener, 10, [
    { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: 1 }, { TargetGroupArn: green, Weight: 0 }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 } } },
  ]);
  arns = { blue, green, rule };
  seedWebService(aws, `${REPO}:1.0.0`, blue, options);
}

const target = (extra: Record<string, unknown> = {}) => ({ type: 'ecs', cluster: 'prod', service: 'web', interval: '2s', ...extra });
const router = () => ({ type: 'alb', ruleArn: arns.rule, stableTargetGroupArn: arns.blue, interval: '2s' });

async function run(stage: Record<string, unknown>, version = '2.0.0', options: { subscribers?: ((e: RunEvent) => void)[] } = {}) {
  const file = join(aws.dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: version } },
      aws: { region: aws.region, endpoint: aws.server.url },
      environments: { production: {} },
      stages: [{ name: 'web', environment: 'production', target: target({ candidateTargetGroupArn: arns.green }), verify: { interval: '5s', timeout: '30s' }, ...stage }],
    }),
  );
  const events: RunEvent[] = [];
  const store = new FileRunStore(join(aws.dir, 'run.json'));
  const loaded = await loadWorkflowFile(file);
  const outcome = await runWorkflow({
    loaded,
    store,
    context: { actor: 'alice', ci: 'local' },
    clock: aws.clock,
    env: { PATH: process.env.PATH ?? '', ...aws.env },
    subscribers: [(e) => events.push(e), ...(options.subscribers ?? [])],
  });
  return { outcome, events, store, loaded };
}

const service = (name = 'web') => {
  const s = aws.ecs.clusters.get('prod')?.services.get(name);
  return s && s.status === 'ACTIVE' ? s : undefined;
};
const taskDefinitionOf = (name = 'web') => service(name)?.taskDefinition.split('/').pop();
const imageOf = (name = 'web') => aws.ecs.taskDefinition(service(name)?.taskDefinition)?.containerDefinitions[0]?.image;
const weights = () => Object.fromEntries(aws.elbv2.weights(arns.rule).map((g) => [g.TargetGroupArn === arns.blue ? 'blue' : 'green', g.Weight]));
const changed = (events: RunEvent[]) =>
  events.flatMap((e) => (e.kind === 'infra.changed' ? [`${e.change.object} ${e.change.field}: ${JSON.stringify(e.change.before)} -> ${JSON.stringify(e.change.after)}`] : []));
const failure = (events: RunEvent[]) => JSON.stringify(events.filter((e) => e.kind === 'step.failed' || e.kind.startsWith('rollback')));
const logged = (events: RunEvent[]) => events.flatMap((e) => (e.kind === 'step.output' ? [e.line] : []));

describe('ecs and alb, end to end on the AWS doubles', () => {
  beforeEach(() => setup());
  afterEach(() => aws.cleanup());

  it('direct: registers a revision with the new image, updates the service, waits for COMPLETED, and records the change', async () => {
    const { outcome, events } = await run({});
    expect(outcome.exitCode, failure(events)).toBe(0);
    expect(imageOf()).toBe(`${REPO}:2.0.0`);
    expect(taskDefinitionOf()).toBe('web:2');
    expect(changed(events)).toEqual(['ecs-service/prod/web taskDefinition: "web:1" -> "web:2"']);
    // The revision is the old one with the image changed: roles, ports, tags travel.
    const def = aws.ecs.taskDefinition('web:2');
    expect(def).toMatchObject({ executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole', cpu: '256', networkMode: 'awsvpc' });
    expect(def?.containerDefinitions[0]).toMatchObject({ name: 'app', portMappings: [{ containerPort: 8080, protocol: 'tcp' }] });
  });

  it('canary with the alb router: the candidate service behind web-green, weights stepped, promoted, the rule put back as found', async () => {
    const { outcome, events } = await run({
      router: router(),
      strategy: { type: 'canary', steps: [{ setWeight: 25 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: { duration: '1m' } }] },
    });
    expect(outcome.exitCode, failure(events)).toBe(0);
    expect(taskDefinitionOf()).toBe('web:2');
    expect(service()?.desiredCount).toBe(3);
    expect(service('web-candidate')).toBeUndefined();
    expect(weights()).toEqual({ blue: 1, green: 0 });
    expect(aws.elbv2.rules.get(arns.rule)?.Actions[0]?.ForwardConfig?.TargetGroupStickinessConfig).toEqual({ Enabled: true, DurationSeconds: 300 });
    const rule = changed(events).filter((c) => c.startsWith('alb-rule/'));
    expect(rule.map((c) => c.slice(c.indexOf(' ') + 1))).toEqual([
      'forward.TargetGroups: {"web-blue":1,"web-green":0} -> {"web-blue":75,"web-green":25}',
      'forward.TargetGroups: {"web-blue":75,"web-green":25} -> {"web-blue":50,"web-green":50}',
      'forward.TargetGroups: {"web-blue":50,"web-green":50} -> {"web-blue":1,"web-green":0}',
    ]);
    expect(changed(events).filter((c) => !c.startsWith('alb-rule/'))).toEqual([
      'ecs-service/prod/web-candidate created: null -> "web:2"',
      'ecs-service/prod/web taskDefinition: "web:1" -> "web:2"',
      'ecs-service/prod/web-candidate created: "web:2" -> null',
    ]);
    // The candidate registered its tasks in web-green, not in the stable group.
    expect(aws.server.callsOf('CreateService')[0]?.params).toMatchObject({ serviceName: 'web-candidate', loadBalancers: [{ targetGroupArn: arns.green, containerName: 'app', containerPort: 8080 }] });
  });

  it('blue-green with the alb router: green at full scale behind web-green, all traffic switched, promoted, switched back to blue', async () => {
    const { outcome, events } = await run({ router: router(), strategy: { type: 'blue-green', scaleDownDelay: '0s' } });
    expect(outcome.exitCode, failure(events)).toBe(0);
    expect(taskDefinitionOf()).toBe('web:2');
    expect(service('web-candidate')).toBeUndefined();
    expect(weights()).toEqual({ blue: 1, green: 0 });
    expect(changed(events)).toEqual([
      'ecs-service/prod/web-candidate created: null -> "web:2"',
      expect.stringMatching(/^alb-rule\/\S+ forward\.TargetGroups: \{"web-blue":1,"web-green":0\} -> \{"web-blue":0,"web-green":100\}$/),
      'ecs-service/prod/web taskDefinition: "web:1" -> "web:2"',
      expect.stringMatching(/forward\.TargetGroups: \{"web-blue":0,"web-green":100\} -> \{"web-blue":1,"web-green":0\}$/),
      'ecs-service/prod/web-candidate created: "web:2" -> null',
    ]);
    const created = aws.server.callsOf('CreateService')[0]?.params as { desiredCount: number };
    expect(created.desiredCount).toBe(3);
  });

  it('canary by task count (no router, no candidate group): the candidate shares web-blue, the stable count shrinks, then all is put back on web', async () => {
    const { outcome, events } = await run({ target: target(), strategy: { type: 'canary', steps: [{ setWeight: 34 }, { pause: { duration: '1m' } }] } });
    expect(outcome.exitCode, failure(events)).toBe(0);
    expect(taskDefinitionOf()).toBe('web:2');
    expect(service()?.desiredCount).toBe(3);
    expect(changed(events)).toEqual([
      'ecs-service/prod/web-candidate created: null -> "web:2"',
      // 34 % of 3 tasks: one candidate task beside two stable ones.
      'ecs-service/prod/web desiredCount: 3 -> 2',
      'ecs-service/prod/web taskDefinition: "web:1" -> "web:2"',
      'ecs-service/prod/web desiredCount: 2 -> 3',
      'ecs-service/prod/web-candidate created: "web:2" -> null',
    ]);
    expect(aws.server.callsOf('CreateService')[0]?.params).toMatchObject({ loadBalancers: [{ targetGroupArn: arns.blue }] });
  });
});
