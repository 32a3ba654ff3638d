import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeProbeContract } from '../testing/contracts/probe.js';
import * as http from './http.js';

/** A local server: /ok answers JSON, /hang never answers (and says when a request is waiting there). */
async function serve(onHang: () => void): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/hang') return onHang();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ready":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** A port nothing listens on: one a server had a moment ago. */
async function closedPort(): Promise<number> {
  const { server, base } = await serve(() => {});
  await close(server);
  return Number(new URL(base).port);
}

describeProbeContract('http', async () => {
  let abortWhenWaiting = () => {};
  const { server, base } = await serve(() => abortWhenWaiting());
  const refused = await closedPort();
  const probe = (input: Record<string, unknown>) => http.configSchema.parse({ type: 'http', ...input });
  return {
    working: (deps) => http.create(probe({ url: `${base}/ok`, jsonPath: 'ready' }), deps),
    failing: (deps) => http.create(probe({ url: `http://127.0.0.1:${refused}/ok` }), deps),
    // Its own timeout is far beyond the test's: only the signal can end it in time.
    hanging: (deps) => http.create(probe({ url: `${base}/hang`, timeout: '10m' }), deps),
    hangingWaits: (abort) => {
      abortWhenWaiting = abort;
    },
    cleanup: () => close(server),
  };
});
