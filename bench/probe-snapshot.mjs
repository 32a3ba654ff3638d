// Probe snapshot latency: 20 probes (5 http, 5 tcp, 5 command, 5 prometheus) against local
// servers and a real Prometheus, run in parallel by the engine's snapshot (engine/snapshot.js,
// what `when`, guards and `auto` use), many times. Run: node bench/probe-snapshot.mjs
// (after npm run build; needs /usr/bin/prometheus from the Debian package `prometheus`).
//
// Baseline, alternating with the snapshots: the same 20 operations made directly (fetch for http
// and the Prometheus query, net.connect for tcp, spawn for the command), in parallel.
// ratio = snapshot / baseline, at p50 and at p99. Target: snapshot p99 < 250 ms.
// Then two runs where one of the 20 probes hangs (an HTTP server that never answers, a command
// that sleeps), each with a timeout beyond the deadline: the snapshot must still return at the
// 5 s deadline with that probe reported as timed out and the 19 others measured.
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, header, median, ms, percentile, ratio, requireBuild, table, tempDir, verdict } from './lib.mjs';

requireBuild();
const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
const { takeSnapshot, SNAPSHOT_DEADLINE_MS } = await imp('engine/snapshot.js');
const { probes } = await imp('probes/index.js');
const { fakeDeps, fakeStepContext } = await imp('testing/fakes.js');

const SNAPSHOTS = Math.max(50, Math.min(5000, Number(process.env.BENCH_SNAPSHOTS ?? 300)));
const WARMUP = 10;
const TARGET_P99_MS = 250;
const PROMETHEUS = '/usr/bin/prometheus';

try {
  accessSync(PROMETHEUS, constants.X_OK);
} catch {
  console.error(`bench: ${PROMETHEUS} is missing: install the Debian package \`prometheus\` (apt-get install prometheus)`);
  process.exit(2);
}

header(`probe-snapshot: ${SNAPSHOTS} snapshots of 20 probes (5 http, 5 tcp, 5 command, 5 prometheus) vs the same 20 operations made directly`);

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

// The service the probes look at: `/` answers JSON, `/metrics` is scraped, `/hang` never answers.
const app = createServer((req, res) => {
  if (req.url === '/hang') return;
  if (req.url === '/metrics') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('app_up 1\n');
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ready":3}');
});
const appPort = await listen(app);
const appUrl = `http://127.0.0.1:${appPort}`;

const tmp = tempDir('probe-snapshot');
const promPort = await freePort();
const prometheus = await startPrometheus();

/** A port a server just had: free again for Prometheus, which takes its port in a flag. */
async function freePort() {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startPrometheus() {
  const config = join(tmp.dir, 'prometheus.yml');
  writeFileSync(config, `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: app\n    static_configs: [{ targets: ['127.0.0.1:${appPort}'] }]\n`);
  const child = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(tmp.dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-2000)));
  const url = `http://127.0.0.1:${promPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const body = await fetch(`${url}/api/v1/query?query=sum(up)`).then((r) => r.json(), () => undefined);
    if (body?.data?.result?.[0]?.value?.[1] === '1') break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prometheus did not start and scrape on ${url}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child };
}

const QUERY = 'sum(up{job="app"})';
const configs = [
  ...Array.from({ length: 5 }, (_, i) => [`http${i}`, { type: 'http', url: `${appUrl}/`, jsonPath: 'ready' }]),
  ...Array.from({ length: 5 }, (_, i) => [`tcp${i}`, { type: 'tcp', host: '127.0.0.1', port: appPort }]),
  ...Array.from({ length: 5 }, (_, i) => [`command${i}`, { type: 'command', run: ['sh', '-c', 'echo 42'] }]),
  ...Array.from({ length: 5 }, (_, i) => [`prometheus${i}`, { type: 'prometheus', url: prometheus.url, query: QUERY }]),
];

function made(list) {
  const deps = fakeDeps();
  return list.map(([name, raw]) => {
    const module = probes[raw.type];
    const config = module.configSchema.parse(raw);
    return { name, probe: module.create(config, deps), timeoutMs: config.timeout };
  });
}

const named = made(configs);
async function snapshot(list = named) {
  // As the engine's step signals (engine/deadline.ts): every probe of the snapshot listens on it.
  const { signal } = new AbortController();
  setMaxListeners(0, signal);
  const started = performance.now();
  const result = await takeSnapshot(list, fakeStepContext({ step: 'probes', signal }));
  return { wallMs: performance.now() - started, result };
}

// The same 20 operations, straight: what a hand-written check script would do, in parallel.
const direct = {
  http: () => fetch(`${appUrl}/`).then((r) => r.json()),
  tcp: () =>
    new Promise((resolve, reject) => {
      const socket = connect(appPort, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    }),
  command: () =>
    new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', 'echo 42'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.resume();
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
    }),
  prometheus: () =>
    fetch(`${prometheus.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: QUERY }) })
      .then((r) => r.json())
      .then((b) => Number(b.data.result[0].value[1])),
};
async function baseline() {
  const started = performance.now();
  await Promise.all(['http', 'tcp', 'command', 'prometheus'].flatMap((kind) => Array.from({ length: 5 }, () => direct[kind]())));
  return performance.now() - started;
}

function failures(result) {
  return Object.entries(result).filter(([, r]) => !r.ok);
}

try {
  for (let i = 0; i < WARMUP; i++) {
    const { result } = await snapshot();
    const failed = failures(result);
    if (failed.length > 0) throw new Error(`probes failed during warm-up: ${JSON.stringify(failed)}`);
    await baseline();
  }
  const samples = { snapshot: [], baseline: [] };
  const byType = { http: [], tcp: [], command: [], prometheus: [] };
  for (let i = 0; i < SNAPSHOTS; i++) {
    const { wallMs, result } = await snapshot();
    const failed = failures(result);
    if (failed.length > 0) throw new Error(`snapshot ${i}: probes failed: ${JSON.stringify(failed)}`);
    samples.snapshot.push(wallMs);
    for (const [name, r] of Object.entries(result)) byType[name.replace(/\d+$/, '')].push(r.latencyMs);
    samples.baseline.push(await baseline());
  }
  const p = (kind, q) => percentile(samples[kind], q);
  console.log('\n## 20 probes, all answering');
  table([
    ['snapshot p50', ms(p('snapshot', 50))],
    ['snapshot p99', `${ms(p('snapshot', 99))}  (target < ${TARGET_P99_MS} ms: ${p('snapshot', 99) < TARGET_P99_MS ? 'met' : 'NOT met'})`],
    ['snapshot max', ms(Math.max(...samples.snapshot))],
    ['direct p50', ms(p('baseline', 50))],
    ['direct p99', ms(p('baseline', 99))],
    ['ratio p50', ratio(p('snapshot', 50) / p('baseline', 50))],
    ['ratio p99', ratio(p('snapshot', 99) / p('baseline', 99))],
    ['ratio of medians', ratio(median(samples.snapshot) / median(samples.baseline))],
    ...Object.entries(byType).map(([type, l]) => [`one ${type} probe p50/p99`, `${ms(percentile(l, 50))} / ${ms(percentile(l, 99))} (its own latencyMs, in the parallel snapshot)`]),
  ]);

  console.log(`\n## one of the 20 hangs (timeout 10m, beyond the ${SNAPSHOT_DEADLINE_MS} ms deadline)`);
  const rows = [];
  for (const [label, name, raw] of [
    ['http server that never answers', 'http0', { type: 'http', url: `${appUrl}/hang`, timeout: '10m' }],
    ['command that sleeps', 'command0', { type: 'command', run: ['sleep', '600'], timeout: '10m' }],
  ]) {
    const list = made(configs.map(([n, c]) => (n === name ? [n, raw] : [n, c])));
    const { wallMs, result } = await snapshot(list);
    const failed = failures(result);
    const hung = result[name];
    if (failed.length !== 1 || failed[0][0] !== name || hung.error !== `timed out after ${SNAPSHOT_DEADLINE_MS}ms`) {
      throw new Error(`${label}: expected only ${name} to time out, got ${JSON.stringify(failed)}`);
    }
    rows.push([label, `returned after ${ms(wallMs)}  ${verdict(wallMs <= 5000, 'requirement: within 5 s')}; ${name}: ok=${hung.ok}, error="${hung.error}"; 19 others ok`]);
  }
  table(rows);
} finally {
  prometheus.child.kill('SIGTERM');
  app.closeAllConnections();
  app.close();
  await new Promise((resolve) => (prometheus.child.exitCode !== null ? resolve() : prometheus.child.once('exit', resolve)));
  tmp.cleanup();
}
