import { describeTargetContract, type TargetFixture } from '../testing/contracts/target.js';
import { containerAppsFixture } from '../testing/azure/container-apps/fixture.js';
import * as containerApps from './container-apps.js';

/*
 * The container-apps target against the ARM double's Container Apps, on a virtual clock:
 * revisions provision in 10 s of it, images tagged `slow` never do. Faults are ARM's own 503
 * answers (with Retry-After) on a request only the faulted call makes, repeated past restCall's
 * retries, so the call fails with a retryable error. Health reads only what the deploy before it
 * reads too, so it is not faulted (as in the kubernetes suite).
 */
const config = containerApps.configSchema.parse({ type: 'container-apps', app: 'web', manifest: 'web.json', interval: '1s' });

describeTargetContract('container-apps', containerApps, async () => {
  const azure = await containerAppsFixture();
  const app = /\/containerApps\/web$/;
  const faults: Record<string, [RegExp, string] | undefined> = {
    current: [app, 'GET'],
    deploy: [app, 'GET'],
    revert: [app, 'DELETE'],
    deployCandidate: [app, 'PATCH'],
    removeCandidate: [/\/deactivate$/, 'POST'],
  };
  return {
    clock: azure.clock,
    env: azure.env,
    deps: (states) => azure.deps(states),
    create: (deps) => containerApps.create(config, deps),
    versions: ['1.0.0', '2.0.0'],
    slowVersion: 'slow',
    observe: () => azure.apps.view('web') ?? null,
    injectFault(operation) {
      const fault = faults[operation];
      if (!fault) return false;
      azure.server.fail(fault[0], 503, 'ServiceUnavailable', 'The service is temporarily unavailable.', { method: fault[1], times: 6 });
      return true;
    },
    cleanup: azure.cleanup,
  } satisfies TargetFixture;
});
