// One "host" of the end-to-end fleet: an HTTP server process playing one app version on its own
// port. GET /health answers `ok <version>` (503 `failing <version>` when FAIL_HEALTH=1), and every
// answer says which process and version it comes from (x-pid, x-version), so the control script
// can find and stop whatever serves the port. SIGTERM closes it.
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const version = process.env.VERSION ?? '';
const failing = process.env.FAIL_HEALTH === '1';

const server = createServer((req, res) => {
  const headers = { 'content-type': 'text/plain', 'x-pid': String(process.pid), 'x-version': version };
  if (req.url === '/health') {
    res.writeHead(failing ? 503 : 200, headers).end(`${failing ? 'failing' : 'ok'} ${version}\n`);
    return;
  }
  res.writeHead(200, headers).end(`hello from ${version}\n`);
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
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
