import { describeTargetContract, type TargetFixture } from '../testing/contracts/target.js';
import { gcpFixture, servingView } from '../testing/gcp/fixture.js';
import * as cloudRun from './cloud-run.js';

/*
 * The cloud-run target against the Google API double, on a virtual clock: revisions take 5 s to
 * become Ready, images tagged `slow` an hour. The service does not exist at first (`create: true`
 * makes it on a first deploy). A transient fault is Google's 503 UNAVAILABLE on every attempt of
 * the one request the call makes first (each call retries 503 by itself: cloud/rest.ts).
 */
const config = cloudRun.configSchema.parse({ type: 'cloud-run', service: 'web', image: 'europe-docker.pkg.dev/acme/web/web', create: true, interval: '1s' });

describeTargetContract('cloud-run', cloudRun, async () => {
  const gcp = await gcpFixture();
  const service = /\/services\/web$/;
  // Each fault on a request the call under test makes first: `skip` passes those its arrangement makes.
  const faults: Record<string, [RegExp, string, number] | undefined> = {
    current: [service, 'GET', 0],
    deploy: [service, 'GET', 0],
    health: [service, 'GET', 1],
    revert: [service, 'DELETE', 0],
    deployCandidate: [/\/revisions\/web-2-0-0$/, 'GET', 0],
    removeCandidate: [service, 'PATCH', 1],
  };
  return {
    clock: gcp.clock,
    env: gcp.env,
    deps: (states) => gcp.deps(states),
    create: (deps) => cloudRun.create(config, deps),
    versions: ['1.0.0', '2.0.0'],
    slowVersion: 'slow',
    observe: () => servingView(gcp.server),
    injectFault(operation) {
      const fault = faults[operation];
      if (!fault) return false;
      gcp.server.fail(fault[0], 503, { method: fault[1], times: 6, skip: fault[2] });
      return true;
    },
    cleanup: gcp.cleanup,
  } satisfies TargetFixture;
});
