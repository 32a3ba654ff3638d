import { describeTrafficRouterContract, type TrafficRouterFixture } from '../testing/contracts/traffic-router.js';
import { fakeStepContext } from '../testing/fakes.js';
import { gcpFixture, PROJECT, REGION, servingView } from '../testing/gcp/fixture.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as cloudRunTarget from '../targets/cloud-run.js';
import { REVISION } from '../targets/cloud-run/traffic.js';
import * as cloudRun from './cloud-run.js';
import type { StepContext } from '../ports/step-context.js';
import type { TrafficRouter } from '../ports/traffic-router.js';

/*
 * The cloud-run router against the Google API double, on a virtual clock. At every setup the
 * service `web` runs 1.0.0 with all the traffic, and the cloud-run target has started 2.0.0 as the
 * candidate revision (tagged, no traffic); the router reads service and tag from the target's
 * config, as in a stage. The suite's contexts carry no environment: `withEnv` adds the credentials
 * variable, as the engine's contexts carry the runner's. Transient faults are 503 UNAVAILABLE on every attempt of one request.
 */
const targetConfig = cloudRunTarget.configSchema.parse({ type: 'cloud-run', service: 'web', interval: '1s' });

describeTrafficRouterContract('cloud-run', async () => {
  const gcp = await gcpFixture();
  gcp.server.run.seed(PROJECT, REGION, 'web', 'europe-docker.pkg.dev/acme/web/web:1.0.0');
  const target = cloudRunTarget.create(targetConfig, gcp.deps(new MemoryProviderStates(), 'target'));
  await target.candidates?.deployCandidate('2.0.0', 1, fakeStepContext({ clock: gcp.clock, env: gcp.env }));
  // finalize as a first touch calls nothing (it found nothing to restore): no request to fault.
  const faults: Record<string, [string, number] | undefined> = { setWeights: ['PATCH', 0], getWeights: ['GET', 0] };
  return {
    clock: gcp.clock,
    deps: (states) => ({ ...gcp.deps(states, 'router'), target: targetConfig }),
    create: (deps) => withEnv(cloudRun.create(cloudRun.configSchema.parse({ type: 'cloud-run' }), deps), gcp.env),
    observe: () => servingView(gcp.server),
    arrange() {
      // Someone sent 10 % to the candidate revision by hand before rollgate's router touched it.
      const s = gcp.server.run.get(PROJECT, REGION, 'web');
      gcp.server.run.update(s, {
        traffic: [
          { type: REVISION, revision: 'web-00001-abc', percent: 90 },
          { type: REVISION, revision: 'web-2-0-0', percent: 10, tag: 'candidate' },
        ],
      });
      gcp.clock.advance(1000);
    },
    injectFault(operation) {
      const fault = faults[operation];
      if (!fault) return false;
      gcp.server.fail(/\/services\/web$/, 503, { method: fault[0], times: 6, skip: fault[1] });
      return true;
    },
    cleanup: gcp.cleanup,
  } satisfies TrafficRouterFixture;
});

/** The router with `env` added to every context it is called with. */
function withEnv(router: TrafficRouter, env: Record<string, string>): TrafficRouter {
  const add = (ctx: StepContext): StepContext => ({ ...ctx, env: { ...ctx.env, ...env } });
  return {
    type: router.type,
    setWeights: (weights, ctx) => router.setWeights(weights, add(ctx)),
    getWeights: (ctx) => router.getWeights(add(ctx)),
    finalize: (ctx) => router.finalize(add(ctx)),
  };
}
