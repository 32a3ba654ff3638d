import { afterAll, beforeAll } from 'vitest';
import { startApp, type AppServer } from '../../../tests/real/app-server.js';
import { startHaproxy, type HaproxyServer } from '../../../tests/real/servers/haproxy.js';
import { describeTrafficRouterContract } from '../testing/contracts/traffic-router.js';
import { fakeDeps } from '../testing/fakes.js';
import * as haproxy from './haproxy.js';

/*
 * A real HAProxy in front of two real app servers: backend `app` with server `blue` (v1, weight
 * 100) and `green` (v2, weight 0, a blue-green standby). The routing is what `show servers state`
 * says of the two servers (name, admin state, weight); someone else's split is set over the same
 * Runtime API before the router touches it.
 */
let blue: AppServer;
let green: AppServer;
let server: HaproxyServer;

beforeAll(async () => {
  [blue, green] = await Promise.all([startApp('v1'), startApp('v2')]);
  server = await startHaproxy({
    servers: [
      { name: 'blue', port: blue.port, weight: 100 },
      { name: 'green', port: green.port, weight: 0 },
    ],
  });
});

afterAll(async () => {
  await server?.stop();
  await Promise.all([blue?.close(), green?.close()]);
});

/** name, srv_admin_state and srv_uweight of each server. */
async function observe(): Promise<string[][]> {
  const answer = await server.command('show servers state app');
  return answer
    .split('\n')
    .filter((l) => /^\d+ app /.test(l))
    .map((l) => l.split(' '))
    .map((f) => [f[3] as string, f[6] as string, f[7] as string]);
}

async function reset(blueWeight: number, greenWeight: number): Promise<void> {
  for (const line of ['set server app/blue state ready', 'set server app/green state ready', `set weight app/blue ${blueWeight}`, `set weight app/green ${greenWeight}`]) {
    await server.command(line);
  }
}

describeTrafficRouterContract('haproxy', async () => {
  await reset(100, 0);
  const config = haproxy.configSchema.parse({ type: 'haproxy', socket: server.socket, backend: 'app', stable: 'blue', canary: ['green'] });
  return {
    deps: (states) => fakeDeps({ workDir: server.dir }, { states }),
    create: (deps) => haproxy.create(config, deps),
    observe,
    arrange: (_states, found) => reset(100 - found.canary, found.canary),
  };
});
