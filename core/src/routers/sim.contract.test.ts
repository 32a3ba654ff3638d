import { worldOf } from '../sim/access.js';
import { serviceView, simFamily } from '../testing/contracts/sim.js';
import { CONTRACT_STAGE } from '../testing/contracts/kit.js';
import { describeTrafficRouterContract } from '../testing/contracts/traffic-router.js';
import * as sim from './sim.js';

// The routed service runs v1 with a candidate v2 beside it; someone else's split is opened on the world directly.
describeTrafficRouterContract('sim', () => {
  const family = simFamily({ services: { web: { version: 'v1' } } });
  const operations = { setWeights: 'set-weight', getWeights: 'get-weight', finalize: 'finalize' } as const;
  return {
    clock: family.clock,
    deps: family.deps,
    create: (deps) => sim.create(sim.configSchema.parse({ type: 'sim' }), deps),
    observe: (states) => serviceView(family.world(states)),
    arrange(states, found) {
      const world = worldOf(family.deps(states));
      world.deployCandidate(CONTRACT_STAGE, 'v2', 1);
      world.setWeight(CONTRACT_STAGE, found.canary);
    },
    injectFault(operation) {
      family.injectFault(operations[operation]);
      return true;
    },
  };
});
