import { awsFixture, servicesView } from '../testing/aws/fixture.js';
import { describeTargetContract, type TargetFixture, type TargetOperation } from '../testing/contracts/target.js';
import * as ecs from './ecs.js';

/*
 * The ecs target through the real @aws-sdk/client-ecs against the ECS double, on a virtual clock:
 * tasks start in 2 s, an image tagged `slow` never starts, a just-updated service reads back as it
 * was once. The cluster `prod` starts empty; a first deploy creates service `web` from the
 * manifest. Faults are ECS's ServerException on every attempt of one call naming one service (the
 * client retries a single one by itself).
 */
const config = ecs.configSchema.parse({ type: 'ecs', cluster: 'prod', service: 'web', manifest: 'web.yaml', interval: '1s' });

describeTargetContract('ecs', ecs, async () => {
  const aws = await awsFixture();
  const faults: Partial<Record<TargetOperation, [string, string]>> = {
    current: ['DescribeServices', 'web'],
    deploy: ['DescribeServices', 'web'],
    revert: ['DeleteService', 'web'],
    deployCandidate: ['DescribeServices', 'web-candidate'],
    removeCandidate: ['DeleteService', 'web-candidate'],
  };
  return {
    clock: aws.clock,
    env: aws.env,
    deps: aws.deps,
    create: (deps) => ecs.create(config, deps),
    versions: ['1.0.0', '2.0.0'],
    slowVersion: 'slow',
    observe: () => servicesView(aws),
    injectFault(operation) {
      const fault = faults[operation];
      if (!fault) return false;
      aws.ecs.failOn(fault[0], fault[1], undefined, 6);
      return true;
    },
    cleanup: aws.cleanup,
  } satisfies TargetFixture;
});
