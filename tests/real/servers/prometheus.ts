import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppServer, freePort, startApp } from '../app-server.js';

/**
 * A real Prometheus (Debian's `prometheus` package) on a free 127.0.0.1 port, with its config and
 * TSDB in a temp dir, scraping the given app servers (job `app`) and itself (job `prometheus`)
 * every second. `start` returns once it is ready and has scraped every target; `stop()` ends it
 * (SIGTERM, then SIGKILL) and removes the dir, also after a failed test.
 */
export interface PrometheusServer {
  url: string;
  port: number;
  pid: number;
  /** The vector (or scalar as one sample) `promql` gives now, read straight from the API. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Polls `promql` until `ok(result)` holds, within `timeoutMs`; throws with the last result. */
  waitFor(promql: string, ok: (result: Array<{ metric: Record<string, string>; value: [number, string] }>) => boolean, timeoutMs?: number): Promise<void>;
  /** Freezes the process (SIGSTOP): the kernel still accepts connections, nobody answers. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** `host:port` of app servers scraped as job `app`. */
  targets?: string[];
  /** A user whose password the web server asks for (HTTP Basic auth); the self-scrape is then off. */
  basicAuth?: { username: string; password: string; bcrypt: string };
}

/** Test credentials for `basicAuth`: the bcrypt hash (cost 4) of the password, made once with crypt(3). */
export const TEST_BASIC_AUTH = {
  username: 'rollgate',
  password: 'prom-s3cret-pw',
  bcrypt: '$2b$04$BoEIxqFtnUMgxFY20v7OUuQL0ru2zpNtp7Zv9C.Klydw3EUF/lac.',
};

const BINARY = '/usr/bin/prometheus';

/** The binary, or an error naming the Debian package: these tests never skip. */
export function prometheusBinary(): string {
  try {
    accessSync(BINARY, constants.X_OK);
    return BINARY;
  } catch {
    throw new Error(`prometheus is not installed (${BINARY} is missing): install the Debian package \`prometheus\` (apt-get install prometheus)`);
  }
}

export async function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-prometheus-'));
  const port = await freePort();
  const auth = opts.basicAuth;
  const authHeader: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
  const jobs = [
    ...(opts.targets?.length ? [`  - job_name: app\n    static_configs:\n      - targets: [${opts.targets.map((t) => `'${t}'`).join(', ')}]`] : []),
    ...(auth ? [] : [`  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:${port}']`]),
  ];
  await writeFile(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${jobs.join('\n')}\n`);
  const args = [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
  if (auth) {
    await writeFile(join(dir, 'web.yml'), `basic_auth_users:\n  ${auth.username}: '${auth.bcrypt}'\n`);
    args.push(`--web.config.file=${join(dir, 'web.yml')}`);
  }
  let output = '';
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  let gone = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (!gone && child.pid) {
      process.kill(child.pid, 'SIGCONT');
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const query = async (promql: string) => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`, { headers: authHeader, signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: unknown } };
    if (body.status !== 'success') throw new Error(`prometheus test server: ${promql}: ${body.error}`);
    const { resultType, result } = body.data;
    return (resultType === 'scalar' ? [{ metric: {}, value: result }] : result) as Array<{ metric: Record<string, string>; value: [number, string] }>;
  };

  const waitFor: PrometheusServer['waitFor'] = async (promql, ok, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      if (gone) throw new Error(`prometheus exited:\n${output}`);
      try {
        const result = await query(promql);
        last = result;
        if (ok(result)) return;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) throw new Error(`prometheus test server: ${promql} did not reach the expected value within ${timeoutMs}ms; last: ${JSON.stringify(last)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  try {
    await until(
      async () => (await fetch(`${url}/-/ready`, { headers: authHeader, signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status === 200,
      () => gone,
      () => `prometheus did not become ready on ${url}:\n${output}`,
    );
    // Every target scraped once: queries see data from the first test on.
    const expected = (opts.targets?.length ?? 0) + (auth ? 0 : 1);
    if (expected > 0) await waitFor('up == 1', (r) => r.length === expected, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    port,
    pid: child.pid as number,
    query,
    waitFor,
    pause: () => process.kill(child.pid as number, 'SIGSTOP'),
    resume: () => process.kill(child.pid as number, 'SIGCONT'),
    stop,
  };
}

async function until(check: () => Promise<boolean>, failed: () => boolean, message: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (failed() || Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * An HTTP gateway in front of a server, as a load balancer would be: it forwards every request,
 * except that it can answer the next one with a 503 (the backend is down) or hold it without an
 * answer (the backend hangs), telling the test when a request is held.
 */
export interface Gateway {
  url: string;
  failNext(status?: number): void;
  holdNext(onHeld?: () => void): void;
  close(): Promise<void>;
}

export async function startGateway(backend: string): Promise<Gateway> {
  const target = new URL(backend);
  let fault: { status: number } | { onHeld: () => void } | undefined;
  const server: Server = createServer((req, res) => {
    const now = fault;
    fault = undefined;
    if (now && 'status' in now) return void res.writeHead(now.status, { 'content-type': 'text/plain' }).end('backend unavailable\n');
    if (now) return now.onHeld();
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end('bad gateway\n'));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failNext: (status = 503) => (fault = { status }),
    holdNext: (onHeld = () => {}) => (fault = { onHeld }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Requests `urls` in turn, every `everyMs`, until stopped: traffic for rates to measure. */
export function sendTraffic(urls: string[], everyMs = 20): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      await fetch(urls[i % urls.length] as string).then((r) => r.arrayBuffer(), () => undefined);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** The error rate of one version's requests over the last 5 s: NaN when it got none in that time. */
export const errorRateQuery = (version: string) =>
  `(sum(rate(app_requests_total{version="${version}",code=~"5.."}[5s])) or vector(0)) / sum(rate(app_requests_total{version="${version}"}[5s]))`;

/**
 * A Prometheus scraping two app servers: `v1`, which the tests send traffic to, and `idle`, which
 * served one request before the first scrape and none since (its rates are 0, their ratios NaN).
 */
export interface ScrapedApps {
  prometheus: PrometheusServer;
  v1: AppServer;
  idle: AppServer;
  stop(): Promise<void>;
}

export async function startScrapedApps(): Promise<ScrapedApps> {
  const v1 = await startApp('v1');
  const idle = await startApp('idle');
  await fetch(idle.url).then((r) => r.arrayBuffer());
  let prometheus: PrometheusServer;
  try {
    prometheus = await startPrometheus({ targets: [v1, idle].map((a) => `127.0.0.1:${a.port}`) });
  } catch (err) {
    await Promise.all([v1.close(), idle.close()]);
    throw err;
  }
  return { prometheus, v1, idle, stop: async () => void (await Promise.allSettled([prometheus.stop(), v1.close(), idle.close()])) };
}
