// One "host" of the end-to-end fleets: an HTTP server process playing one app version on its own
// port. GET /health answers `ok <version>` (503 `failing <version>` once SICK_AFTER_MS has passed),
// and every answer carries x-pid and x-version (and x-app-version, for the load generator), so the
// control script can find and stop whatever serves the port. Also what a proxy test needs:
// Prometheus metrics on /metrics with a `version` label (the app-server.ts names), a share of
// failed requests (FAIL_RATE, deterministic as in app-server.ts), and a graceful stop: on SIGTERM
// it stops accepting and ends once the requests it holds are answered, as a real service would.
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const version = process.env.VERSION ?? '';
const failRate = Number(process.env.FAIL_RATE ?? '0');
// A version that turns unhealthy this long after it started (a leak, a lost dependency): health
// checks before the switch pass, the ones after it fail, and its requests still succeed.
const sickAfter = process.env.SICK_AFTER_MS ? Date.now() + Number(process.env.SICK_AFTER_MS) : Infinity;
const counts = {};
let budget = 0;

const server = createServer((req, res) => {
  // `connection: close`: a proxy never sends a request on a kept connection that a stop is closing
  // (that race is a 502 no proxy can retry); a refused new connection is retried by nginx and HAProxy.
  const headers = { 'content-type': 'text/plain', connection: 'close', 'x-pid': String(process.pid), 'x-version': version, 'x-app-version': version };
  if (req.url === '/health') {
    const sick = Date.now() >= sickAfter;
    return void res.writeHead(sick ? 503 : 200, headers).end(`${sick ? 'failing' : 'ok'} ${version}\n`);
  }
  if (req.url === '/metrics') {
    const lines = ['# TYPE app_requests_total counter', ...Object.entries(counts).map(([code, n]) => `app_requests_total{version="${version}",code="${code}"} ${n}`)];
    return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', connection: 'close' }).end(`${lines.join('\n')}\n`);
  }
  budget += failRate;
  const fail = budget >= 1;
  if (fail) budget -= 1;
  const code = fail ? 500 : 200;
  counts[code] = (counts[code] ?? 0) + 1;
  res.writeHead(code, headers).end(`${fail ? 'error' : 'hello'} from ${version}\n`);
});

// The process it replaces may still be closing its socket: retry the port for a bounded time.
const deadline = Date.now() + 5000;
server.on('error', (err) => {
  if (err.code === 'EADDRINUSE' && Date.now() < deadline) setTimeout(() => server.listen(port, '127.0.0.1'), 25);
  else {
    console.error(`host-server ${version}: ${err.message}`);
    process.exit(1);
  }
});
server.listen(port, '127.0.0.1');

process.on('SIGTERM', () => {
  server.closeIdleConnections();
  server.close(() => process.exit(0));
  // A client that never finishes its request must not keep the old version alive.
  setTimeout(() => process.exit(0), 3000).unref();
});
