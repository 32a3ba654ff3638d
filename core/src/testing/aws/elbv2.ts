import { Elbv2Model, ELBV2_XMLNS } from './elbv2/model.js';
import type { AwsServer } from './server.js';

/*
 * The Elastic Load Balancing v2 API double: the operations the alb router and the AWS probes call,
 * on the Query protocol (answers in the 2015-12-01 namespace), served by an AwsServer over the
 * state of elbv2/model.ts. Covered: DescribeListeners, DescribeRules, ModifyListener, ModifyRule,
 * DescribeTargetGroups, DescribeTargetHealth, with forward actions' weighted target groups and
 * stickiness validated as ELB validates them. Not covered: creating or deleting load balancers,
 * listeners, rules or target groups through the API (tests make them on the model), conditions'
 * validation, SetRulePriorities, RegisterTargets through the API, tags.
 */

export { Elbv2Model, ELBV2_XMLNS } from './elbv2/model.js';
export type { Action, Target, TargetGroupRef, TargetState } from './elbv2/model.js';

/** Registers the ELBv2 operations on `server` over a new model; returns the model (the test's handle). */
export function elbv2Double(server: AwsServer, region = 'us-east-1'): Elbv2Model {
  const elb = new Elbv2Model(region);
  const on = (operation: string, handler: (params: Record<string, unknown>) => unknown) => server.query(operation, handler, { xmlns: ELBV2_XMLNS });
  on('DescribeListeners', (p) => elb.describeListeners(p));
  on('DescribeRules', (p) => elb.describeRules(p));
  on('ModifyRule', (p) => elb.modifyRule(p));
  on('ModifyListener', (p) => elb.modifyListener(p));
  on('DescribeTargetGroups', (p) => elb.describeTargetGroups(p));
  on('DescribeTargetHealth', (p) => elb.describeTargetHealth(p));
  return elb;
}
