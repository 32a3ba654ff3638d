import { describeTrafficRouterContract } from '../testing/contracts/traffic-router.js';
import { awsFixture } from '../testing/aws/fixture.js';
import { awsFault } from '../testing/aws/server.js';
import * as alb from './alb.js';

/*
 * The alb router through the real @aws-sdk/client-elastic-load-balancing-v2 against the ELBv2
 * double: a listener rule forwarding to web-blue (weight 1) and web-green (weight 0, so ELB
 * health-checks it), sticky for 5 minutes; web-green has a healthy target. Someone else's split is
 * the rule's weights set before rollgate touches it. Faults are ELB's InternalFailure on every
 * attempt of one call (the client retries a single one by itself). The step contexts carry the
 * double's static test keys as a runner's environment would.
 */
describeTrafficRouterContract('alb', async () => {
  const aws = await awsFixture();
  const blue = aws.elbv2.targetGroup('web-blue');
  const green = aws.elbv2.targetGroup('web-green');
  const listener = aws.elbv2.listener([{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } } as never]);
  const forward = (b: number, g: number) => [
    { Type: 'forward', Order: 1, ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: b }, { TargetGroupArn: green, Weight: g }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 } } },
  ];
  const rule = aws.elbv2.rule(listener, 10, forward(1, 0));
  aws.elbv2.registerTargets(green, [{ id: '10.0.9.1', port: 8080, health: 'healthy' }]);
  const operations = { setWeights: 'ModifyRule', getWeights: 'DescribeRules' } as const;
  return {
    clock: aws.clock,
    env: aws.env,
    deps: aws.deps,
    create: (deps) => alb.create(alb.configSchema.parse({ type: 'alb', ruleArn: rule, stableTargetGroupArn: blue, candidateTargetGroupArn: green }), deps),
    observe: () => aws.elbv2.rules.get(rule)?.Actions,
    arrange(_states, found) {
      aws.elbv2.modifyRule({ RuleArn: rule, Actions: forward(100 - found.canary, found.canary) });
    },
    injectFault(operation) {
      if (operation === 'finalize') return false;
      aws.server.fail(operations[operation], awsFault('InternalFailure', 'An internal error has occurred', 500), 6);
      return true;
    },
    cleanup: aws.cleanup,
  };
});
