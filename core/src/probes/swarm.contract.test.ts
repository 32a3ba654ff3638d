import { afterAll, beforeAll } from 'vitest';
import { useSwarm } from '../../../tests/real/swarm/daemon.js';
import { type FaultProxy, startFaultProxy } from '../../../tests/real/swarm/fault-proxy.js';
import { describeProbeContract } from '../testing/contracts/probe.js';
import { fakeDeps } from '../testing/fakes.js';
import * as swarm from './swarm.js';

/*
 * The swarm probe against a real Docker Swarm (Debian's docker.io daemon, started for this file),
 * through a socket in front of it that can hold a request without an answer: the hanging probe.
 */

let proxy: FaultProxy;
let held = () => {};
const swarmd = useSwarm();
beforeAll(async () => {
  proxy = await startFaultProxy(swarmd().socket);
  proxy.hang('GET', /\/services\/held$/, () => held());
});
afterAll(() => proxy?.close());

const probe = (fields: Record<string, unknown>) => swarm.configSchema.parse({ type: 'swarm', ...fields });

describeProbeContract('swarm', () => {
  held = () => {};
  return {
    deps: () => fakeDeps({}, { settings: { swarm: { host: proxy.host } } }),
    working: (deps) => swarm.create(probe({ check: 'nodes' }), deps),
    failing: (deps) => swarm.create(probe({ check: 'tasks', service: 'absent' }), deps),
    // Its own timeout is far beyond the test's: only the signal can end it in time.
    hanging: (deps) => swarm.create(probe({ check: 'tasks', service: 'held', timeout: '10m' }), deps),
    hangingWaits: (abort) => {
      held = abort;
    },
    /** The swarm's services and nodes with their versions: a write would change one. */
    async observe() {
      const [services, nodes] = await Promise.all([swarmd().api<unknown[]>('GET', '/services'), swarmd().api<unknown[]>('GET', '/nodes')]);
      return { services: services.body, nodes: (nodes.body as Array<{ ID: string; Version: unknown; Spec: unknown }>).map((n) => ({ id: n.ID, version: n.Version, spec: n.Spec })) };
    },
  };
});
