import { describeTargetContract } from '../testing/contracts/target.js';
import { serviceView, simFamily } from '../testing/contracts/sim.js';
import * as sim from './sim.js';

// v9 takes an hour to start: on the virtual clock that is free, and an abort must cut it short.
describeTargetContract('sim', sim, () => {
  const family = simFamily({ versions: { v9: { startup: '1h' } } });
  const operations = {
    current: 'current',
    deploy: 'deploy',
    health: 'health',
    revert: 'revert',
    deployCandidate: 'deploy-candidate',
    removeCandidate: 'remove-candidate',
    deployUnit: 'deploy-unit',
    revertUnit: 'revert-unit',
  } as const;
  return {
    clock: family.clock,
    deps: family.deps,
    create: (deps) => sim.create(sim.configSchema.parse({ type: 'sim' }), deps),
    versions: ['v1', 'v2'],
    slowVersion: 'v9',
    observe: (states) => serviceView(family.world(states)),
    injectFault(operation) {
      family.injectFault(operations[operation]);
      return true;
    },
  };
});
