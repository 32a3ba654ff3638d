import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { resumeRun, runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import type { RunJournal } from '../../core/src/model/journal.js';
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

async function run(stage: Record<string, unknown>, version = '2.0.0', options: { subscribers?: ((e: RunEvent) => void)[]; store?: MemoryRunStore; extra?: Record<string, unknown> } = {}) {
  const file = join(aws.dir, 'rollgate.yml');
  writeFileSync(
    file,
    stringify({
      version: 1,
      name: 'web',
      inputs: { version: { default: version } },
      aws: { region: aws.region, endpoint: aws.server.url },
      environments: { production: {} },
      ...options.extra,
      stages: [{ name: 'web', environment: 'production', target: target({ candidateTargetGroupArn: arns.green }), verify: { interval: '5s', timeout: '30s' }, ...stage }],
    }),
  );
  const events: RunEvent[] = [];
  const store = options.store ?? new FileRunStore(join(aws.dir, 'run.json'));
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

  it('a second canary right after the first waits for the deleted candidate service to drain (ECS refuses its name until then)', async () => {
    const strategy = { type: 'canary', steps: [{ setWeight: 50 }, { pause: { duration: '1m' } }] };
    expect((await run({ router: router(), strategy })).outcome.exitCode).toBe(0);
    const { outcome, events } = await run({ router: router(), strategy }, '3.0.0');
    expect(outcome.exitCode, failure(events)).toBe(0);
    expect(taskDefinitionOf()).toBe('web:3');
    expect(logged(events)).toContain(
      'ecs: service prod/web-candidate of an earlier rollout is still draining (its tasks are stopping); a service of that name can be created once ECS marks it INACTIVE',
    );
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

describe('ecs and alb when things go wrong', () => {
  afterEach(() => aws.cleanup());
  const canary = { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 25 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: { duration: '1m' } }] };

  it('a bad version, direct: the circuit breaker fails the deployment, ECS rolls back, and the run says why', async () => {
    await setup();
    const { outcome, events } = await run({}, 'bad');
    expect(outcome.exitCode).toBe(1);
    const failed = events.find((e) => e.kind === 'step.failed');
    const error = failed && 'error' in failed ? String(failed.error) : '';
    expect(error).toMatch(/^ecs target: the deployment ecs-svc\/\d+ of web:2 to service prod\/web FAILED: ECS deployment circuit breaker: tasks failed to start\. \(0 of \d tasks running, 3 failed\); ECS is rolling back to web:1\. Last events: /);
    expect(error).toContain('deployment failed: tasks failed to start.');
    expect(taskDefinitionOf()).toBe('web:1');
    expect(service()?.deployments[0]?.rolloutState).toBe('COMPLETED');
  });

  it('a bad version in a canary: the candidate fails, traffic never moves, the candidate is removed and the rule is as found', async () => {
    await setup();
    const { outcome, events } = await run({ router: router(), strategy: canary }, 'bad');
    expect(outcome.exitCode).toBe(1);
    expect(failure(events)).toContain('to service prod/web-candidate FAILED: ECS deployment circuit breaker: tasks failed to start.');
    expect(service('web-candidate')).toBeUndefined();
    expect(taskDefinitionOf()).toBe('web:1');
    expect(weights()).toEqual({ blue: 1, green: 0 });
    expect(changed(events).filter((c) => c.startsWith('alb-rule/'))).toEqual([]);
  });

  it('a version judged bad after traffic moved: the analysis fails, traffic goes back to web-blue and the candidate is removed', async () => {
    await setup();
    const { outcome, events } = await run(
      {
        router: router(),
        strategy: { ...canary, steps: [{ setWeight: 25 }, { analysis: { metrics: [{ name: 'errors', provider: 'errors', query: 'candidate 5xx ratio', successCondition: 'result < 0.01', count: 1 }] } }] },
      },
      '2.0.0',
      // 20 % of the candidate's requests fail.
      { extra: { metricProviders: { errors: { type: 'command', run: ['echo', '0.2'] } } } },
    );
    expect(outcome.exitCode, failure(events)).toBe(1);
    expect(weights()).toEqual({ blue: 1, green: 0 });
    expect(service('web-candidate')).toBeUndefined();
    expect(taskDefinitionOf()).toBe('web:1');
  });

  it('capacity short: the candidate cannot be placed, the wait runs out naming the placement failure, and the stable service is untouched', async () => {
    await setup({ capacity: 4 });
    const { outcome, events } = await run({ target: target({ candidateTargetGroupArn: arns.green, rolloutTimeout: '2m' }), router: router(), strategy: { type: 'blue-green', scaleDownDelay: '0s' } });
    expect(outcome.exitCode).toBe(1);
    expect(failure(events)).toContain(
      'ecs target: the deployment of web:2 to service prod/web-candidate did not complete within 2m (1 of 3 tasks running, 2 pending). Last events: \\"(service web-candidate) was unable to place a task because no container instance met all of its requirements.',
    );
    expect(service('web-candidate')).toBeUndefined();
    expect(taskDefinitionOf()).toBe('web:1');
    expect(service()?.desiredCount).toBe(3);
    expect(weights()).toEqual({ blue: 1, green: 0 });
  });

  it('ECS and ELB throttled (30 % of calls): the run still succeeds, and each retry is in the log', async () => {
    await setup();
    aws.server.throttle(0.3);
    const { outcome, events } = await run({ router: router(), strategy: canary });
    expect(outcome.exitCode, failure(events)).toBe(0);
    expect(taskDefinitionOf()).toBe('web:2');
    const retries = logged(events).filter((l) => / throttled/.test(l));
    expect(retries.length).toBeGreaterThan(3);
    expect(retries.some((l) => l.startsWith('ecs target: '))).toBe(true);
    expect(retries.some((l) => l.startsWith('alb router: '))).toBe(true);
  });

  it('credentials that expire mid-run: the run fails, names the call AWS refused, and needs a person; no secret in any event', async () => {
    await setup();
    // Once the candidate runs, the session expires: every later call is refused.
    const { outcome, events } = await run({ router: router(), strategy: canary }, '2.0.0', {
      subscribers: [(e) => void (e.kind === 'infra.changed' && e.change.object === 'ecs-service/prod/web-candidate' && aws.server.expireCredentials())],
    });
    expect(outcome.exitCode).toBe(4);
    expect(outcome.status).toBe('manual-intervention-required');
    const text = JSON.stringify(events);
    expect(failure(events)).toContain(
      'ecs target: cannot read service prod/web-candidate: the credentials were refused (ExpiredTokenException): they may have expired; renew them (the OIDC role session, the CI secret) and run `rollgate resume`',
    );
    expect(text).not.toContain(aws.env.AWS_SECRET_ACCESS_KEY);
    expect(JSON.stringify(outcome.journal)).not.toContain(aws.env.AWS_SECRET_ACCESS_KEY);
    expect(service('web-candidate')).toBeDefined();
  });

  it('the AWS secret key appears in no event of a whole canary', async () => {
    await setup();
    const { outcome, events } = await run({ router: router(), strategy: canary });
    expect(outcome.exitCode).toBe(0);
    expect(JSON.stringify(events)).not.toContain(aws.env.AWS_SECRET_ACCESS_KEY);
    expect(JSON.stringify(aws.server.calls)).not.toContain(aws.env.AWS_SECRET_ACCESS_KEY);
  });

  it('a crash mid-rollout (traffic at 25 %): resume in a new process rolls back from the journal, traffic back on web-blue', async () => {
    await setup();
    const store = new MemoryRunStore();
    let atCrash: RunJournal | undefined;
    // The process "dies" at the first weight: its journal is what it saved then, and nothing it
    // tries later reaches AWS (its session is gone).
    await run({ router: router(), strategy: canary }, '2.0.0', {
      store,
      subscribers: [
        (e) => {
          if (e.kind !== 'weight.changed' || atCrash) return;
          aws.server.expireCredentials();
          void store.load().then((j) => (atCrash ??= j as RunJournal));
        },
      ],
    });
    expect(atCrash?.status).toBe('running');
    expect(weights()).toEqual({ blue: 75, green: 25 });
    aws.server.renewCredentials();
    const crashed = new MemoryRunStore();
    await crashed.save(atCrash as RunJournal);
    const events: RunEvent[] = [];
    const loaded = await loadWorkflowFile(join(aws.dir, 'rollgate.yml'));
    const resumed = await resumeRun({ loaded, store: crashed, context: { actor: 'bob', ci: 'local' }, clock: aws.clock, env: { PATH: process.env.PATH ?? '', ...aws.env }, subscribers: [(e: RunEvent) => events.push(e)] });
    expect(resumed.status, failure(events)).toBe('rolled-back');
    expect(weights()).toEqual({ blue: 1, green: 0 });
    expect(service('web-candidate')).toBeUndefined();
    expect(taskDefinitionOf()).toBe('web:1');
  });

  it('a run stopped at an approval resumes in a new process and finishes the promotion', async () => {
    await setup();
    const first = await run({ router: router(), strategy: { type: 'canary', steps: [{ setWeight: 50 }, { approval: {} }] } });
    expect(first.outcome.exitCode).toBe(3);
    expect(weights()).toEqual({ blue: 50, green: 50 });
    const resumed = await resumeRun({
      loaded: first.loaded,
      store: first.store,
      context: { actor: 'bob', ci: 'local' },
      clock: aws.clock,
      env: { PATH: process.env.PATH ?? '', ...aws.env },
      decision: { approve: true, by: 'bob' },
      subscribers: [],
    });
    expect(resumed.exitCode).toBe(0);
    expect(taskDefinitionOf()).toBe('web:2');
    expect(service('web-candidate')).toBeUndefined();
    expect(weights()).toEqual({ blue: 1, green: 0 });
  });
});
