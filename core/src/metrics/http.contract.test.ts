import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeMetricProviderContract } from '../testing/contracts/metric-provider.js';
import { fakeDeps } from '../testing/fakes.js';
import * as http from './http.js';

// A local JSON API, which can answer 503 once as when it is down; it has no candidate yet.
describeMetricProviderContract('http', async () => {
  let down = false;
  const server = createServer((_req, res) => {
    if (down) {
      down = false;
      return void res.writeHead(503).end('unavailable');
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ stable: { errorRate: 0.01, requests: '1200' }, candidate: null, series: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;
  return {
    deps: (states) => fakeDeps({}, { states }),
    create: (deps) => http.create(http.configSchema.parse({ type: 'http', url }), deps),
    sampled: ['stable.errorRate', 'stable.requests'],
    noData: ['candidate', 'candidate.errorRate', 'series[0]'],
    injectFault: () => (down = true),
    cleanup: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
