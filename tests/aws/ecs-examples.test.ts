import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../core/src/definition/load.js';
import { runWorkflow } from '../../core/src/engine/executor.js';
import { MemoryRunStore } from '../../core/src/engine/memory-run-store.js';
import { cloudWatchDouble, type CloudWatchModel } from '../../core/src/testing/aws/cloudwatch.js';
import { awsFixture, type AwsFixture, seedWebService } from '../../core/src/testing/aws/fixture.js';
import { ROOT } from '../cli/support.js';

/*
 * The AWS examples run as docs/clouds/aws-ecs.md shows them, against the ECS, ELBv2 and CloudWatch
 * doubles: the load balancer, listener, rule and target groups have the examples' ARNs, the
 * endpoint comes from AWS_ENDPOINT_URL (as LocalStack is reached), and the version is the one a
 * person would pass.
 */
const EXAMPLES = join(ROOT, 'examples/aws');
const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';
const BLUE = `${ARN}:targetgroup/web-blue/73e2d6bc24d8a067`;
const GREEN = `${ARN}:targetgroup/web-green/943f017f100becff`;
const LISTENER = `${ARN}:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2`;
const RULE = `${ARN}:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`;
const ERRORS = { namespace: 'AWS/ApplicationELB', metric: 'HTTPCode_Target_5XX_Count', dimensions: { LoadBalancer: 'app/web/50dc6c495c0c9188', TargetGroup: 'targetgroup/web-green/943f017f100becff' } };

let aws: AwsFixture;
let cloudwatch: CloudWatchModel;
beforeEach(async () => {
  aws = await awsFixture();
  cloudwatch = cloudWatchDouble(aws.server);
  aws.elbv2.targetGroup('web-blue', 8080, BLUE);
  aws.elbv2.targetGroup('web-green', 8080, GREEN);
  const split = [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: BLUE, Weight: 1 }, { TargetGroupArn: GREEN, Weight: 0 }] } }];
  aws.elbv2.listener(split, 443, LISTENER);
  aws.elbv2.rule(LISTENER, 10, split, undefined, RULE);
  seedWebService(aws, '123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2.3.0', BLUE);
});
afterEach(() => aws.cleanup());

async function example(name: string, version: string) {
  const loaded = await loadWorkflowFile(join(EXAMPLES, name));
  loaded.workflow.audit.sinks = [];
  return runWorkflow({
    loaded,
    store: new MemoryRunStore(),
    context: { actor: 'alice', ci: 'local' },
    inputs: { version },
    clock: aws.clock,
    env: { PATH: process.env.PATH ?? '', ...aws.env, AWS_ENDPOINT_URL: aws.server.url },
  });
}
const running = () => aws.ecs.taskDefinition(aws.ecs.clusters.get('prod')?.services.get('web')?.taskDefinition)?.containerDefinitions[0]?.image;
const weights = (arn: string) => aws.elbv2.weights(arn).map((g) => g.Weight);

describe('the AWS examples', () => {
  it('ecs-canary.yml promotes a version whose candidate serves few 5xx, and puts the rule back', async () => {
    cloudwatch.define(ERRORS, 1);
    const outcome = await example('ecs-canary.yml', '2.4.0');
    expect(outcome.exitCode).toBe(0);
    expect(running()).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2.4.0');
    expect(weights(RULE)).toEqual([1, 0]);
  });

  it('ecs-canary.yml rolls back a version whose candidate serves many 5xx', async () => {
    cloudwatch.define(ERRORS, 40);
    const outcome = await example('ecs-canary.yml', '2.4.0');
    expect(outcome.exitCode).toBe(1);
    expect(running()).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2.3.0');
    expect(weights(RULE)).toEqual([1, 0]);
    expect(aws.ecs.clusters.get('prod')?.services.get('web-candidate')?.status).not.toBe('ACTIVE');
  });

  it('ecs-blue-green.yml switches the listener to green, promotes, and switches back to blue', async () => {
    const outcome = await example('ecs-blue-green.yml', '2.4.0');
    expect(outcome.exitCode).toBe(0);
    expect(running()).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2.4.0');
    expect(weights(LISTENER)).toEqual([1, 0]);
  });
});
