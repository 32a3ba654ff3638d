import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small service that plays one version of an application in the end-to-end tests: it answers
 * `GET /` with its version, exports Prometheus metrics on `GET /metrics`, and can be told to fail
 * a share of requests or to answer slowly (`POST /control` with JSON `{ failRate, delayMs }`, or
 * `app.set(...)` from the test). Runs on 127.0.0.1 on a free port; real HTTP, no doubles.
 *
 * Metrics, in the text exposition format:
 *   app_requests_total{version="v1",code="200"}   counter of answered requests by status code
 *   app_request_duration_seconds_sum / _count     for a mean latency
 *   app_up{version="v1"} 1
 */
export interface AppServer {
  version: string;
  port: number;
  url: string;
  /** Requests answered, by status code. */
  counts(): Record<string, number>;
  set(behaviour: { failRate?: number; delayMs?: number }): void;
  close(): Promise<void>;
}

export async function startApp(version: string, opts: { port?: number; failRate?: number; delayMs?: number } = {}): Promise<AppServer> {
  let failRate = opts.failRate ?? 0;
  let delayMs = opts.delayMs ?? 0;
  const counts: Record<string, number> = {};
  let durationSum = 0;
  let requests = 0;
  // Deterministic failures: every request adds failRate to a budget; a whole unit fails one.
  let failBudget = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/control') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        try {
          const b = JSON.parse(body || '{}') as { failRate?: number; delayMs?: number };
          if (typeof b.failRate === 'number') failRate = b.failRate;
          if (typeof b.delayMs === 'number') delayMs = b.delayMs;
          res.writeHead(204).end();
        } catch {
          res.writeHead(400).end('control body must be JSON');
        }
      });
      return;
    }
    if (req.url === '/metrics') {
      const lines = [
        '# TYPE app_requests_total counter',
        ...Object.entries(counts).map(([code, n]) => `app_requests_total{version="${version}",code="${code}"} ${n}`),
        '# TYPE app_request_duration_seconds summary',
        `app_request_duration_seconds_sum{version="${version}"} ${durationSum}`,
        `app_request_duration_seconds_count{version="${version}"} ${requests}`,
        '# TYPE app_up gauge',
        `app_up{version="${version}"} 1`,
      ];
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
      return;
    }
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${version}\n`);
      return;
    }
    const started = process.hrtime.bigint();
    const answer = () => {
      failBudget += failRate;
      const fail = failBudget >= 1;
      if (fail) failBudget -= 1;
      const code = fail ? 500 : 200;
      counts[code] = (counts[code] ?? 0) + 1;
      requests += 1;
      durationSum += Number(process.hrtime.bigint() - started) / 1e9;
      res.writeHead(code, { 'content-type': 'text/plain', 'x-app-version': version }).end(`${fail ? 'error' : 'hello'} from ${version}\n`);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    version,
    port,
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    set(b) {
      if (b.failRate !== undefined) failRate = b.failRate;
      if (b.delayMs !== undefined) delayMs = b.delayMs;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A free TCP port on 127.0.0.1 (for servers that take a port in their config file). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
