import { describeMetricProviderContract } from '../testing/contracts/metric-provider.js';
import { simFamily } from '../testing/contracts/sim.js';
import * as sim from './sim.js';

// web serves v1 and no candidate runs: the candidate's metrics and an undeployed service have no sample.
describeMetricProviderContract('sim', () => {
  const family = simFamily({ services: { web: { version: 'v1' } } });
  return {
    clock: family.clock,
    deps: family.deps,
    create: (deps) => sim.create(sim.configSchema.parse({ type: 'sim' }), deps),
    sampled: ['error-rate', 'latency-p99', 'request-rate', 'ready-replicas', 'stable-error-rate'],
    noData: ['candidate-error-rate', 'candidate-latency-p99', 'candidate-ready-replicas', 'error-rate:api'],
    observe: (states) => family.world(states).toJSON(),
    injectFault: () => family.injectFault('metric'),
  };
});
