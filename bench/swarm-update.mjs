// rollgate driving a Docker Swarm service update vs `docker service update` run directly with the
// same settings. Run: node bench/swarm-update.mjs (after npm run build; as root, with Debian's
// docker.io and busybox-static: apt-get install docker.io busybox-static). BENCH_PAIRS sets the
// paired runs (default 5), BENCH_REPLICAS the service's replicas (default 3).
//
// A real dockerd in a temp dir (as the tests start it: tests/real/swarm/dockerd-watchdog.sh), a
// one-node swarm on loopback, a service `web` of busybox httpd tasks on the host network with a
// health check, created as a user does (`docker service create`). Both sides update its image
// between two tags with the same UpdateConfig: one task at a time, 500 ms apart, the new task
// started first, Swarm watching each for 1 s, pausing on a failure.
//   A = `rollgate run` (the bundled CLI; workflow: swarm target with those update settings,
//       `direct` strategy: the update, then one health read as verification)
//   B = `docker service update --image … --update-parallelism 1 --update-delay 500ms
//       --update-order start-first --update-monitor 1s --update-failure-action pause --quiet web`
//       (Debian's Docker CLI, which waits until the service has converged, as rollgate does)
// Paired A B A B, each from a settled service (the previous update's old tasks gone, untimed);
// wall time, spawn to exit; medians and A/B printed. Requirement (issue 12): A/B within 1.10.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CLI, header, median, ms, pct, ratio, requireBuild, ROOT, table, timeSpawn, verdict } from './lib.mjs';

requireBuild();
const DOCKERD = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));
const DOCKER = ['/usr/bin/docker'].find((p) => existsSync(p));
if (!DOCKERD || !DOCKER || !existsSync('/bin/busybox')) {
  console.error("bench: Debian's Docker daemon and static busybox are missing: apt-get install docker.io busybox-static");
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('bench: dockerd needs root here: run the benchmark as root');
  process.exit(2);
}
const PAIRS = Math.max(2, Math.min(30, Number(process.env.BENCH_PAIRS ?? 5)));
const REPLICAS = Math.max(1, Math.min(10, Number(process.env.BENCH_REPLICAS ?? 3)));
const UPDATE = { parallelism: 1, delay: '500ms', order: 'start-first', monitor: '1s', failureAction: 'pause' };
const SWARM = join(ROOT, 'tests/real/swarm');
const REPO = 'localhost:1/app';

header(`swarm-update: rollgate (CLI) vs docker service update, a ${REPLICAS}-task service on a real one-node swarm, ${PAIRS} pairs`);
const dir = mkdtempSync('/tmp/rgsw-bench-');
const socket = join(dir, 'docker.sock');
const host = `unix://${socket}`;
const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir };
const log = openSync(join(dir, 'dockerd.log'), 'a');
const flags = ['--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver=vfs', `--data-root=${join(dir, 'data')}`, `--exec-root=${join(dir, 'exec')}`];
const watchdog = spawn('/bin/sh', [join(SWARM, 'dockerd-watchdog.sh'), dir, DOCKERD, ...flags, `--pidfile=${join(dir, 'dockerd.pid')}`, `--host=${host}`, '--log-level=warn'], {
  env,
  stdio: ['pipe', log, log],
  detached: true,
});
const docker = (args) => timeSpawn(DOCKER, ['-H', host, ...args], { env });

let code = 0;
try {
  await until(async () => (await api('GET', '/_ping')).status === 200, 'dockerd did not start');
  await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', `127.0.0.1:${await freePort()}`]);
  for (const tag of ['1.0.0', '2.0.0']) await importImage(tag);
  const portBase = 20_000 + Math.floor(Math.random() * 400) * 100;
  await docker([
    'service', 'create', '--name', 'web', '--replicas', String(REPLICAS), '--network', 'host', '--endpoint-mode', 'dnsrr', '--env', `PORT_BASE=${portBase}`,
    '--health-cmd', '/bin/sh /health', '--health-interval', '250ms', '--health-retries', '2', '--health-timeout', '30s', '--stop-grace-period', '2s',
    '--update-parallelism', '1', '--update-delay', '500ms', '--update-order', 'start-first', '--update-monitor', '1s', '--update-failure-action', 'pause', '--quiet', `${REPO}:1.0.0`,
  ]);

  const workflow = join(dir, 'rollgate.yml');
  writeFileSync(
    workflow,
    `version: 1
name: bench-swarm
inputs: { version: { required: true } }
swarm: { host: ${JSON.stringify(host)} }
environments: { production: {} }
stages:
  - name: web
    environment: production
    target: { type: swarm, service: web, update: ${JSON.stringify(UPDATE)} }
    strategy: { type: direct }
`,
  );
  let runs = 0;
  const rollgate = (version) =>
    timeSpawn(process.execPath, [CLI, 'run', workflow, '--input', `version=${version}`, '--state', join(dir, `run-${++runs}.json`), '--actor', 'bench'], { cwd: dir, env: { ...env, CI: '' } });
  const direct = (version) =>
    docker(['service', 'update', '--image', `${REPO}:${version}`, '--update-parallelism', '1', '--update-delay', '500ms', '--update-order', 'start-first', '--update-monitor', '1s', '--update-failure-action', 'pause', '--quiet', 'web']);

  /** Waits (untimed) until every task runs `version` and the old ones are gone; fails when the update did not land. */
  const settled = async (version, what) => {
    await until(async () => {
      const tasks = (await api('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: ['web'] }))}`)).body;
      const live = tasks.filter((t) => !['complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove'].includes(t.Status.State));
      return live.length === REPLICAS && live.every((t) => t.Status.State === 'running' && t.Spec.ContainerSpec.Image === `${REPO}:${version}`);
    }, `${what}: the service did not settle on ${version}`, 60_000);
  };

  // Warm-up: one of each (page cache, the CLI's first compile).
  let version = '2.0.0';
  const flip = () => (version = version === '2.0.0' ? '1.0.0' : '2.0.0');
  await rollgate(version);
  await settled(version, 'rollgate warm-up');
  await direct(flip());
  await settled(version, 'docker warm-up');

  const a = [];
  const b = [];
  for (let i = 0; i < PAIRS; i++) {
    a.push((await rollgate(flip())).wallMs);
    await settled(version, 'rollgate');
    b.push((await direct(flip())).wallMs);
    await settled(version, 'docker service update');
  }
  const startup = [];
  for (let i = 0; i < PAIRS; i++) startup.push((await timeSpawn(process.execPath, [CLI, 'validate', workflow], { cwd: dir, env })).wallMs);
  const [ma, mb] = [median(a), median(b)];
  console.log(`service update of ${REPLICAS} tasks, one at a time (wall time, spawn to exit):`);
  table([
    ['A rollgate run (CLI)', `median ${ms(ma, 0)}  (${a.map((x) => x.toFixed(0)).join(', ')})`],
    ['B docker service update', `median ${ms(mb, 0)}  (${b.map((x) => x.toFixed(0)).join(', ')})`],
    ['A/B', `${ratio(ma / mb, 3)} (${pct(ma / mb - 1)}): ${verdict(ma / mb <= 1.1, 'requirement: within 10%')}`],
    ['A-B', `${ms(ma - mb, 0)} per update`],
    ['CLI start+exit', `median ${ms(median(startup), 0)} (rollgate validate of the same file), part of A`],
  ]);
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  // The watchdog stops the daemon, kills what it left and removes the dir once its stdin closes.
  watchdog.stdin.end();
  await new Promise((resolve) => watchdog.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);

/** One Engine API call over the daemon's socket: status and JSON body. */
function api(method, path) {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, method, path }, (res) => {
      let raw = '';
      res.on('data', (c) => (raw += c));
      res.on('end', () => {
        let body = raw;
        try {
          body = JSON.parse(raw);
        } catch {
          // the ping's plain OK
        }
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('error', () => resolve({ status: 0, body: undefined }));
    req.end();
  });
}

/** `localhost:1/app:<tag>` from busybox and the test images' scripts (tests/real/swarm/rootfs). */
async function importImage(tag) {
  const root = join(dir, `rootfs-${tag}`);
  for (const d of ['bin', 'www', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  symlinkSync('busybox', join(root, 'bin/sh'));
  copyFileSync(join(SWARM, 'rootfs/serve'), join(root, 'serve'));
  copyFileSync(join(SWARM, 'rootfs/health-good'), join(root, 'health'));
  for (const f of ['serve', 'health']) chmodSync(join(root, f), 0o755);
  writeFileSync(join(root, 'www/index.html'), `${tag}\n`);
  const r = spawnSync('/bin/sh', ['-c', `tar -C '${root}' -c . | '${DOCKER}' -H '${host}' import -c 'CMD ["/bin/sh","/serve"]' - '${REPO}:${tag}'`], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker import failed: ${r.stderr}`);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function until(ok, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(what);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
