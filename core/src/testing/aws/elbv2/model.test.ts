import { describe, expect, it } from 'vitest';
import type { AwsFault } from '../server.js';
import { Elbv2Model } from './model.js';

/* The ELBv2 double's state: forward actions as ELB stores and validates them, and target health. */
function elb() {
  const m = new Elbv2Model();
  const blue = m.targetGroup('web-blue');
  const green = m.targetGroup('web-green');
  const listener = m.listener([{ Type: 'forward', TargetGroupArn: blue }]);
  const rule = m.rule(listener, 10, [{ Type: 'forward', TargetGroupArn: blue }]);
  return { m, blue, green, listener, rule };
}
const fault = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return `${(err as AwsFault).code}: ${(err as AwsFault).message}`;
  }
  return undefined;
};

describe('the ELBv2 double', () => {
  it('stores a forward action in both spellings ELB answers with, numbers and booleans from the form', () => {
    const { m, blue, green, rule } = elb();
    expect(m.weights(rule)).toEqual([{ TargetGroupArn: blue, Weight: 1 }]);
    const set = { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: '90' }, { TargetGroupArn: green, Weight: '10' }], TargetGroupStickinessConfig: { Enabled: 'true', DurationSeconds: '60' } } };
    const out = m.modifyRule({ RuleArn: rule, Actions: [set] }) as { Rules: Array<{ Actions: unknown[] }> };
    expect(out.Rules[0]?.Actions).toEqual([
      { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: 90 }, { TargetGroupArn: green, Weight: 10 }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 60 } } },
    ]);
  });

  it('refuses what ELB refuses, with its codes and messages', () => {
    const { m, blue, green, rule, listener } = elb();
    const fwd = (groups: unknown[], extra = {}) => [{ Type: 'forward', ForwardConfig: { TargetGroups: groups }, ...extra }];
    expect(fault(() => m.modifyRule({ RuleArn: `${rule}x`, Actions: fwd([{ TargetGroupArn: blue }]) }))).toBe('RuleNotFound: One or more rules not found');
    expect(fault(() => m.modifyListener({ ListenerArn: `${listener}x`, DefaultActions: fwd([{ TargetGroupArn: blue }]) }))).toBe('ListenerNotFound: One or more listeners not found');
    expect(fault(() => m.modifyRule({ RuleArn: rule, Actions: fwd([{ TargetGroupArn: `${blue}x` }]) }))).toBe('TargetGroupNotFound: One or more target groups not found');
    expect(fault(() => m.modifyRule({ RuleArn: rule, Actions: fwd([{ TargetGroupArn: blue, Weight: 1000 }]) }))).toContain("ValidationError: 1 validation error detected: Value '1000' at 'actions.1.member.forwardConfig.targetGroups.1.member.weight'");
    const six = [1, 2, 3, 4, 5, 6].map((n) => ({ TargetGroupArn: m.targetGroup(`g${n}`), Weight: 1 }));
    expect(fault(() => m.modifyRule({ RuleArn: rule, Actions: fwd(six) }))).toBe('TooManyTargetGroups: You have reached the maximum number of target groups in a forward action (5)');
    expect(fault(() => m.modifyRule({ RuleArn: rule, Actions: fwd([{ TargetGroupArn: blue }, { TargetGroupArn: green }], { TargetGroupArn: blue }) }))).toBe(
      'ValidationError: You cannot specify a target group ARN and a forward config with different or multiple target groups',
    );
    expect(fault(() => m.modifyRule({ RuleArn: rule, Actions: [] }))).toBe('ValidationError: An action must be specified');
    expect(fault(() => m.describeTargetHealth({ TargetGroupArn: `${blue}x` }))).toBe('TargetGroupNotFound: One or more target groups not found');
  });

  it('reports registered targets with their health states and reasons; a group no listener uses has them unused', () => {
    const { m, blue, green } = elb();
    m.registerTargets(blue, [
      { id: '10.0.0.1', port: 8080, health: 'healthy' },
      { id: '10.0.0.2', port: 8080, health: 'draining' },
    ]);
    m.registerTargets(green, [{ id: '10.0.1.1', port: 8080, health: 'healthy' }]);
    const states = (tg: string) => (m.describeTargetHealth({ TargetGroupArn: tg }) as { TargetHealthDescriptions: Array<{ Target: { Id: string }; TargetHealth: { State: string; Reason?: string } }> }).TargetHealthDescriptions.map((d) => [d.Target.Id, d.TargetHealth.State, d.TargetHealth.Reason]);
    expect(states(blue)).toEqual([
      ['10.0.0.1', 'healthy', undefined],
      ['10.0.0.2', 'draining', 'Target.DeregistrationInProgress'],
    ]);
    expect(states(green)).toEqual([['10.0.1.1', 'unused', 'Target.NotInUse']]);
    m.deregisterTargets(blue, ['10.0.0.2']);
    expect(states(blue)).toHaveLength(1);
  });
});
