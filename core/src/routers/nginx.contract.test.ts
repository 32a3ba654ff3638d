import { readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { startApp, type AppServer } from '../../../tests/real/app-server.js';
import { startNginx, type NginxServer } from '../../../tests/real/servers/nginx.js';
import { describeTrafficRouterContract } from '../testing/contracts/traffic-router.js';
import { fakeDeps } from '../testing/fakes.js';
import * as nginx from './nginx.js';

/*
 * A real nginx in front of two real app servers (v1 stable, v2 canary); the routing is the
 * upstream file the router owns, read back as text. Each check starts from a file that sends
 * everything to v1; someone else's split is a hand-written file, reloaded by the test.
 */
let stable: AppServer;
let canary: AppServer;
let server: NginxServer;
const address = (app: AppServer) => `127.0.0.1:${app.port}`;

beforeAll(async () => {
  [stable, canary] = await Promise.all([startApp('v1'), startApp('v2')]);
  server = await startNginx({ upstream: 'app', upstreamText: `upstream app {\n    server ${address(stable)};\n}\n` });
});

afterAll(async () => {
  await server?.stop();
  await Promise.all([stable?.close(), canary?.close()]);
});

describeTrafficRouterContract('nginx', async () => {
  await server.replaceUpstream(`# the app's upstream\nupstream app {\n    keepalive 8;\n    server ${address(stable)};\n}\n`);
  const config = nginx.configSchema.parse({
    type: 'nginx',
    upstreamFile: server.upstreamFile,
    upstream: 'app',
    stable: address(stable),
    canary: [address(canary)],
    nginx: server.binary,
    args: server.args,
    pidFile: server.pidFile,
  });
  return {
    deps: (states) => fakeDeps({ workDir: server.dir }, { states }),
    create: (deps) => nginx.create(config, deps),
    observe: () => readFileSync(server.upstreamFile, 'utf8'),
    async arrange(_states, found) {
      await server.replaceUpstream(
        `upstream app {\n  server ${address(stable)} weight=${100 - found.canary}; # blue\n  server ${address(canary)} weight=${found.canary} max_fails=2; # green\n}\n`,
      );
    },
  };
});
