import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import { awsFixture, type AwsFixture } from '../testing/aws/fixture.js';
import type { Action } from '../testing/aws/elbv2.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeStepContext } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as alb from './alb.js';
import { albWeights } from './alb/forward.js';

/*
 * What the alb router writes and says, through the real SDK against the ELBv2 double: a listener
 * whose default action is a 404, and a rule forwarding to web-blue and web-green (weight 0), sticky.
 */
let aws: AwsFixture;
let groups: { blue: string; green: string };
let listener: string;
let rule: string;
let lines: string[];
let changes: Change[];
beforeEach(async () => {
  aws = await awsFixture();
  groups = { blue: aws.elbv2.targetGroup('web-blue'), green: aws.elbv2.targetGroup('web-green') };
  listener = aws.elbv2.listener([{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }]);
  rule = aws.elbv2.rule(listener, 10, [forward(1, 0)]);
  aws.elbv2.registerTargets(groups.green, [{ id: '10.0.9.1', port: 8080, health: 'healthy' }]);
  lines = [];
  changes = [];
});
afterEach(() => aws.cleanup());

function forward(blue: number, green: number, more: { TargetGroupArn: string; Weight: number }[] = []): Action {
  return {
    Type: 'forward',
    ForwardConfig: {
      TargetGroups: [{ TargetGroupArn: groups.blue, Weight: blue }, { TargetGroupArn: groups.green, Weight: green }, ...more],
      TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
    },
  };
}
const ctx = () => fakeStepContext({ env: aws.env, clock: aws.clock, changes, log: { info: (m) => lines.push(m), warn: (m) => lines.push(m), output() {} } });
const router = (extra: Record<string, unknown> = {}, target?: Record<string, unknown>) =>
  alb.create(
    alb.configSchema.parse({ type: 'alb', ruleArn: rule, stableTargetGroupArn: groups.blue, candidateTargetGroupArn: groups.green, healthTimeout: '30s', ...extra }),
    { ...aws.deps(new MemoryProviderStates()), ...(target ? { target: target as { type: string } } : {}) },
  );
const message = async (p: Promise<unknown>) => {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(ProviderError);
  return (err as Error).message;
};

describe('alb router', () => {
  it('maps percents to ELB weights exactly, and refuses a share no weights under 1000 carry', () => {
    expect([10, 0, 100, 2.5, 0.1, 0.25, 33.5].map(albWeights)).toEqual([
      { stable: 90, canary: 10 },
      { stable: 100, canary: 0 },
      { stable: 0, canary: 100 },
      { stable: 975, canary: 25 },
      { stable: 999, canary: 1 },
      { stable: 399, canary: 1 },
      { stable: 665, canary: 335 },
    ]);
    expect(() => albWeights(12.34)).toThrow('alb router: ELB target group weights are whole numbers from 0 to 999, so 12.34 % cannot be written exactly; use whole or tenth percents');
  });

  it('weighs a listener default action, keeping its stickiness', async () => {
    aws.elbv2.modifyListener({ ListenerArn: listener, DefaultActions: [forward(1, 0)] });
    const r = router({ ruleArn: undefined, listenerArn: listener });
    await r.setWeights({ canary: 30 }, ctx());
    expect(aws.elbv2.listeners.get(listener)?.DefaultActions).toEqual([{ ...forward(70, 30), ForwardConfig: { ...forward(70, 30).ForwardConfig } }]);
    expect(await r.getWeights(ctx())).toEqual({ canary: 30 });
    expect(changes).toEqual([{ object: expect.stringMatching(/^alb-listener\/app\/web\//), field: 'forward.TargetGroups', before: { 'web-blue': 1, 'web-green': 0 }, after: { 'web-blue': 70, 'web-green': 30 } }]);
  });

  it('takes the candidate group from the ecs target when the router names none', async () => {
    const r = router({ candidateTargetGroupArn: undefined }, { type: 'ecs', candidateTargetGroupArn: groups.green });
    await r.setWeights({ canary: 10 }, ctx());
    expect(aws.elbv2.weights(rule).map((g) => g.Weight)).toEqual([90, 10]);
  });

  it('no candidate group anywhere: says where to set one, before any call', async () => {
    expect(await message(router({ candidateTargetGroupArn: undefined }).setWeights({ canary: 10 }, ctx()))).toBe(
      'alb router: no candidate target group: set candidateTargetGroupArn on the router, or on the ecs target the stage deploys',
    );
    expect(aws.server.calls).toEqual([]);
  });

  it('a rule without a forward action: says what it has', async () => {
    aws.elbv2.modifyRule({ RuleArn: rule, Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503' } }] });
    expect(await message(router().getWeights(ctx()))).toMatch(
      /^alb router: rule listener-rule\/app\/web\/\S+ has no forward action \(its actions: fixed-response\); rollgate weighs the target groups of a forward action, so point it at the stable target group first$/,
    );
  });

  it('another target group that takes traffic: refused, since the share would not be the one set', async () => {
    const other = aws.elbv2.targetGroup('web-legacy');
    aws.elbv2.modifyRule({ RuleArn: rule, Actions: [forward(1, 0, [{ TargetGroupArn: other, Weight: 5 }])] });
    expect(await message(router().setWeights({ canary: 10 }, ctx()))).toMatch(
      /^alb router: rule \S+ also sends traffic to target group web-legacy \(weight 5\), so the canary's share would not be the one rollgate sets; give it weight 0 or a rule of its own$/,
    );
  });

  it('a candidate group without a healthy target: waits, then refuses to send it traffic, changing nothing', async () => {
    aws.elbv2.registerTargets(groups.green, [{ id: '10.0.9.1', port: 8080, health: 'unhealthy' }, { id: '10.0.9.2', port: 8080, health: 'initial' }]);
    expect(await message(router().setWeights({ canary: 10 }, ctx()))).toBe(
      'alb router: target group web-green has no healthy target after 30s (1 unhealthy (Target.FailedHealthChecks), 1 initial (Elb.RegistrationInProgress)), so rollgate sends it no traffic; check that the candidate\'s tasks register there (the ecs target\'s candidateTargetGroupArn) and pass the group\'s health check',
    );
    expect(aws.elbv2.weights(rule).map((g) => g.Weight)).toEqual([1, 0]);
    expect(lines[0]).toBe('alb router: waiting for a healthy target in target group web-green before moving traffic: 1 unhealthy (Target.FailedHealthChecks), 1 initial (Elb.RegistrationInProgress)');
  });

  it('a candidate group no rule uses yet: its targets are unused, so traffic moves unchecked and the log says so', async () => {
    aws.elbv2.modifyRule({ RuleArn: rule, Actions: [{ Type: 'forward', TargetGroupArn: groups.blue }] });
    await router().setWeights({ canary: 20 }, ctx());
    expect(aws.elbv2.weights(rule).map((g) => g.Weight)).toEqual([80, 20]);
    expect(lines).toContain(
      'alb router: target group web-green is not used by the load balancer yet (its 1 targets are unused, so ELB has not checked them): rollgate sends it traffic unchecked, and the analysis judges it',
    );
  });

  it('unused targets for another reason than Target.NotInUse: waited on, never sent traffic unchecked', async () => {
    aws.elbv2.registerTargets(groups.green, [{ id: '10.0.9.1', port: 8080, health: 'unused', reason: 'Target.InvalidState' }]);
    expect(await message(router().setWeights({ canary: 10 }, ctx()))).toBe(
      "alb router: target group web-green has no healthy target after 30s (1 unused (Target.InvalidState)), so rollgate sends it no traffic; check that the candidate's tasks register there (the ecs target's candidateTargetGroupArn) and pass the group's health check",
    );
    expect(aws.elbv2.weights(rule).map((g) => g.Weight)).toEqual([1, 0]);
  });

  it('finalize over a split someone else changed since rollgate wrote: refused, naming the rule and both splits, the rule left as it is', async () => {
    const r = router();
    await r.setWeights({ canary: 10 }, ctx());
    aws.elbv2.modifyRule({ RuleArn: rule, Actions: [forward(50, 50)] });
    const err = await message(r.finalize(ctx()));
    expect(err).toBe(
      `alb router: rule ${rule.replace(/^arn:aws:elasticloadbalancing:[^:]*:\d*:/, '')} splits {"web-blue":50,"web-green":50} now, not {"web-blue":90,"web-green":10} as rollgate last set it: someone else changed its target groups or weights since, so rollgate does not put {"web-blue":1,"web-green":0} back over it; check who else manages this rule, and set its weights by hand if they should go`,
    );
    expect(aws.elbv2.weights(rule).map((g) => g.Weight)).toEqual([50, 50]);
  });

  it('finalize after its own last write: puts the forward action back as found', async () => {
    const r = router();
    await r.setWeights({ canary: 10 }, ctx());
    await r.setWeights({ canary: 30 }, ctx());
    await r.finalize(ctx());
    expect(aws.elbv2.weights(rule).map((g) => g.Weight)).toEqual([1, 0]);
  });

  it('a forward action already at five target groups: ELB’s own refusal, naming the rule', async () => {
    const more = [1, 2, 3].map((n) => ({ TargetGroupArn: aws.elbv2.targetGroup(`other-${n}`), Weight: 0 }));
    aws.elbv2.modifyRule({ RuleArn: rule, Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: groups.blue, Weight: 1 }, ...more, { TargetGroupArn: aws.elbv2.targetGroup('other-4'), Weight: 0 }] } }] });
    expect(await message(router().setWeights({ canary: 10 }, ctx()))).toMatch(
      /^alb router: cannot set the weights of rule \S+: TooManyTargetGroups: You have reached the maximum number of target groups in a forward action \(5\)$/,
    );
  });

  it('a rule that does not exist: ELB’s RuleNotFound, naming the rule', async () => {
    expect(await message(router({ ruleArn: `${rule}0` }).getWeights(ctx()))).toMatch(/^alb router: cannot read rule \S+0: RuleNotFound: One or more rules not found$/);
  });

  it('config: one of ruleArn and listenerArn, and two different groups', () => {
    const issues = (c: Record<string, unknown>) => alb.configSchema.safeParse({ type: 'alb', stableTargetGroupArn: groups.blue, ...c }).error?.issues.map((i) => i.message);
    expect(issues({})).toEqual(['give ruleArn (a listener rule) or listenerArn (its default action)']);
    expect(issues({ ruleArn: rule, candidateTargetGroupArn: groups.blue })).toEqual(['candidateTargetGroupArn must name another target group than stableTargetGroupArn']);
    expect(issues({ ruleArn: 'web' })).toEqual(['expected an ELB listener-rule ARN']);
  });
});
