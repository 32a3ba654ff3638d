import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describeProbeContract } from '../testing/contracts/probe.js';
import * as tcp from './tcp.js';

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

// No hanging probe: a local connect is answered at once, and nothing portable holds one open.
describeProbeContract('tcp', async () => {
  const { server, port } = await listen();
  const gone = await listen();
  await close(gone.server);
  const probe = (p: number) => tcp.configSchema.parse({ type: 'tcp', host: '127.0.0.1', port: p });
  return {
    working: (deps) => tcp.create(probe(port), deps),
    failing: (deps) => tcp.create(probe(gone.port), deps),
    cleanup: () => close(server),
  };
});
