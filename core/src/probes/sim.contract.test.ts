import { describeProbeContract } from '../testing/contracts/probe.js';
import { simFamily } from '../testing/contracts/sim.js';
import * as sim from './sim.js';

// The database is down (a failing probe), and free-capacity probes take an hour (a hanging one).
describeProbeContract('sim', () => {
  const family = simFamily({
    services: { web: { version: 'v1' } },
    database: { up: false },
    failures: [{ kind: 'slow-probe', probe: 'free-capacity', delay: '1h' }],
  });
  const probe = (input: Record<string, unknown>) => sim.configSchema.parse({ type: 'sim', ...input });
  return {
    clock: family.clock,
    deps: family.deps,
    working: (deps) => sim.create(probe({ measure: 'version' }), deps),
    failing: (deps) => sim.create(probe({ measure: 'database' }), deps),
    hanging: (deps) => sim.create(probe({ measure: 'free-capacity', timeout: '2h' }), deps),
    observe: (states) => family.world(states).toJSON(),
  };
});
