// rollgate driving an nginx blue-green switch on a fleet of 4 local hosts vs the same steps as a
// plain sh script. Run: node bench/nginx-blue-green.mjs (after npm run build; needs /usr/sbin/nginx
// from the Debian package `nginx`). BENCH_PAIRS sets the paired runs (default 6).
//
// The hosts are real processes (tests/real/fleet/host-server.mjs, started and replaced by
// host-ctl.mjs, the fleet commands of the end-to-end tests); nginx is real, on a free port in
// a temp dir. Both sides do the same work: read each host's version, deploy v2 on the green hosts
// (web-01..03) at once, check their health, write the upstream file (green up, blue down),
// `nginx -t`, `nginx -s reload`, wait until nginx's workers serve it, deploy v2 on blue (web-04)
// and check it, put the upstream file back, test, reload, wait. A = `rollgate run` (the bundled
// CLI, workflow: fleet target + nginx router + blue-green with scaleDownDelay 0), B = the script.
// Rollgate runs the same host commands as B (each host's version read once before it changes;
// since 2026-12-03 the candidate hosts are no longer read four times), plus one version read of
// web-04 before the promotion and minus its health check.
// Paired A B A B, the fleet reset to v1 (untimed) before each run; medians and A/B printed.
// Requirement: A/B within 1.10, goal 1.03.
//
// Then, under load (about 200 requests a second through nginx, each on a new connection): the
// failed requests during a rollgate switch, and during a rollback (v3 turns unhealthy 2 s after it
// starts, after the switch; the health monitor sees it and rollgate switches back to blue).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import { join } from 'node:path';
import { CLI, header, median, ms, ratio, requireBuild, ROOT, table, tempDir, timeSpawn } from './lib.mjs';

requireBuild();
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);
if (!NGINX) {
  console.error('bench: nginx is missing: install the Debian package `nginx` (apt-get install nginx)');
  process.exit(2);
}
const PAIRS = Math.max(2, Math.min(50, Number(process.env.BENCH_PAIRS ?? 6)));
const CTL = join(ROOT, 'tests/real/fleet/host-ctl.mjs');
const HOSTS = ['web-01', 'web-02', 'web-03', 'web-04'];
const GREEN = HOSTS.slice(0, 3);

header(`nginx-blue-green: rollgate (CLI) vs a sh script, blue-green through a real nginx on ${HOSTS.length} local hosts, ${PAIRS} pairs`);
const tmp = tempDir('nginx-blue-green');
const dir = tmp.dir;
const listen = (s) => new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s.address().port)));
async function freePort() {
  const s = createServer();
  const port = await listen(s);
  await new Promise((resolve) => s.close(resolve));
  return port;
}

// The fleet, in the LocalFleet layout that host-ctl.mjs reads.
const ports = {};
for (const h of HOSTS) {
  let port = await freePort();
  while (Object.values(ports).includes(port)) port = await freePort();
  ports[h] = port;
  mkdirSync(join(dir, 'hosts', h), { recursive: true });
  writeFileSync(join(dir, 'hosts', h, 'port'), String(port));
}
const address = (h) => `127.0.0.1:${ports[h]}`;
const fleetEnv = { PATH: process.env.PATH, FLEET_DIR: dir };
const ctl = (action, host, version) => timeSpawn(process.execPath, [CTL, action], { env: { ...fleetEnv, ROLLGATE_HOST: host, ROLLGATE_VERSION: version } });
const onAll = (version) => Promise.all(HOSTS.map((h) => ctl('deploy', h, version)));

// nginx, in the foreground in its own process group, everything under the temp dir.
const nginxPort = await freePort();
const upstreamFile = join(dir, 'upstream.conf');
const pidFile = join(dir, 'nginx.pid');
const conf = join(dir, 'nginx.conf');
const errorLog = join(dir, 'error.log');
const original = `upstream app {\n${HOSTS.map((h) => `    server ${address(h)};\n`).join('')}}\n`;
for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, 'tmp', sub), { recursive: true });
writeFileSync(upstreamFile, original);
writeFileSync(
  conf,
  `worker_processes 2;\npid ${pidFile};\nerror_log ${errorLog} notice;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n` +
    ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${join(dir, 'tmp', k === 'client_body' ? 'body' : k)};\n`).join('') +
    `  include ${upstreamFile};\n  server {\n    listen 127.0.0.1:${nginxPort};\n    location / { proxy_pass http://app; }\n  }\n}\n`,
);
const nginxArgs = ['-p', `${dir}/`, '-e', errorLog, '-c', conf];
const nginx = spawn(NGINX, [...nginxArgs, '-g', 'daemon off;'], { detached: true, stdio: 'ignore' });
const url = `http://127.0.0.1:${nginxPort}/`;

let code = 0;
try {
  await onAll('v1');
  await until(async () => (await request(url)).status === 200, 'nginx did not start');

  // The commands both sides run on a host: deploy through host-ctl.mjs (a node process, as a
  // real deploy is a process), current and health as curl one-liners, the way a script reads them.
  const hostScript = (name, body) => {
    writeFileSync(join(dir, name), `#!/bin/sh\nset -eu\nport=$(cat "$FLEET_DIR/hosts/$ROLLGATE_HOST/port")\n${body}\n`);
    return join(dir, name);
  };
  const currentSh = hostScript('current.sh', `curl -sS -o /dev/null -D - "http://127.0.0.1:$port/health" | tr -d '\\r' | sed -n 's/^x-app-version: //p'`);
  const healthSh = hostScript('health.sh', 'test "$(curl -fsS "http://127.0.0.1:$port/health")" = "ok $ROLLGATE_VERSION"');

  // A: rollgate. The workflow is the one a user would write (examples/hosts/blue-green-haproxy.yml, with nginx).
  const workflow = (name) => {
    const cmd = (a) => `[${JSON.stringify(process.execPath)}, ${JSON.stringify(CTL)}, ${a}]`;
    writeFileSync(
      join(dir, name),
      `version: 1
name: bench-blue-green
inputs: { version: { default: v2 } }
environments: { production: {} }
audit: { sinks: [{ type: file, dir: ${JSON.stringify(join(dir, 'audit'))} }] }
stages:
  - name: web
    environment: production
    target:
      type: fleet
      hosts: [${HOSTS.join(', ')}]
      current: [sh, ${JSON.stringify(currentSh)}]
      deploy: ${cmd('deploy')}
      health: [sh, ${JSON.stringify(healthSh)}]
      revert: ${cmd('revert')}
    router:
      type: nginx
      upstreamFile: ${JSON.stringify(upstreamFile)}
      upstream: app
      canary: [${GREEN.map(address).join(', ')}]
      stable: ${address('web-04')}
      nginx: ${NGINX}
      args: ${JSON.stringify(nginxArgs)}
      pidFile: ${JSON.stringify(pidFile)}
    verify: { interval: 200ms, timeout: 30s, failureThreshold: 2 }
${name === 'rollback.yml' ? '    monitor: { interval: 500ms, failureThreshold: 2 }\n' : ''}
    strategy: { type: blue-green, scaleDownDelay: ${name === 'rollback.yml' ? '8s' : '0s'} }
`,
    );
    return join(dir, name);
  };
  const good = workflow('switch.yml');
  const bad = workflow('rollback.yml');
  let runs = 0;
  const rollgate = (file, version, allowFail = false) =>
    timeSpawn(process.execPath, [CLI, 'run', file, '--input', `version=${version}`, '--state', join(dir, `run-${++runs}.json`), '--actor', 'bench'], {
      cwd: dir,
      env: { ...fleetEnv, HOME: dir, CI: '' },
      allowFail,
    });

  // B: the same steps as a plain sh script.
  const writeScript = (name) => {
    const path = join(dir, name);
    writeFileSync(
    path,
    `#!/bin/sh
# Blue-green by hand: green = web-01..03, blue = web-04.
set -eu
ctl() { ROLLGATE_HOST=$2 node ${JSON.stringify(CTL)} "$1"; }
current() { ROLLGATE_HOST=$1 sh ${JSON.stringify(currentSh)}; }
health() { ROLLGATE_HOST=$1 sh ${JSON.stringify(healthSh)}; }
workers() { ps --ppid "$(cat ${pidFile})" -o pid=,args= | grep 'worker process$' | awk '{print $1}' | sort; }
reload() {  # put the upstream file $1 in place, test, reload, wait until no old worker accepts connections
  before=" $(workers | tr '\\n' ' ') "
  cp "$1" ${upstreamFile}.new && mv ${upstreamFile}.new ${upstreamFile}
  ${NGINX} ${nginxArgs.join(' ')} -t -q
  ${NGINX} ${nginxArgs.join(' ')} -s reload
  while :; do
    now=$(workers); stale=0
    for p in $now; do case "$before" in *" $p "*) stale=1 ;; esac; done
    if [ -n "$now" ] && [ $stale = 0 ]; then break; fi
    sleep 0.025
  done
}
for h in ${HOSTS.join(' ')}; do current "$h" > /dev/null; done
for h in ${GREEN.join(' ')}; do ctl deploy "$h" & done; wait
for h in ${GREEN.join(' ')}; do health "$h"; done
reload ${JSON.stringify(join(dir, 'green.conf'))}
ctl deploy web-04
health web-04
reload ${JSON.stringify(join(dir, 'original.conf'))}
`,
    );
    return path;
  };
  const script = writeScript('blue-green.sh');
  writeFileSync(join(dir, 'original.conf'), original);
  writeFileSync(join(dir, 'green.conf'), `upstream app {\n${GREEN.map((h) => `    server ${address(h)} weight=1;\n`).join('')}    server ${address('web-04')} down;\n}\n`);
  const shell = (path = script) => timeSpawn('sh', [path], { cwd: dir, env: { ...fleetEnv, ROLLGATE_VERSION: 'v2' } });

  const check = async (what) => {
    const versions = await Promise.all(HOSTS.map(async (h) => (await request(`http://${address(h)}/health`)).version));
    if (versions.some((v) => v !== 'v2')) throw new Error(`${what}: hosts serve ${versions.join(', ')}, expected v2 everywhere`);
    if (readFileSync(upstreamFile, 'utf8') !== original) throw new Error(`${what}: the upstream file was not put back`);
  };
  // One host at a time, as a rolling restart: nginx always has a host to retry on.
  const reset = async () => {
    for (const h of HOSTS) await ctl('deploy', h, 'v1');
    writeFileSync(upstreamFile, original);
    // Fresh workers forget the hosts this restart marked failed (max_fails=1, fail_timeout=10s).
    spawnSync(NGINX, [...nginxArgs, '-s', 'reload']);
  };
  // Warm-up: one of each (page cache, JIT of the CLI).
  await reset();
  const warm = await rollgate(good, 'v2');
  if (process.env.BENCH_DEBUG) console.log(warm.stdout);
  await check('rollgate warm-up');
  await reset();
  await shell();
  await check('sh warm-up');

  const a = [];
  const b = [];
  for (let i = 0; i < PAIRS; i++) {
    await reset();
    a.push((await rollgate(good, 'v2')).wallMs);
    await check('rollgate');
    await reset();
    b.push((await shell()).wallMs);
    await check('sh');
  }
  // Where A's extra time goes: the CLI's own start and exit (validating the same file).
  const startup = [];
  for (let i = 0; i < PAIRS; i++) startup.push((await timeSpawn(process.execPath, [CLI, 'validate', good], { cwd: dir, env: { ...fleetEnv, HOME: dir } })).wallMs);
  const [ma, mb] = [median(a), median(b)];
  console.log('blue-green switch and promotion, wall time (spawn to exit):');
  table([
    ['A rollgate run (CLI)', `median ${ms(ma)}  (${a.map((x) => x.toFixed(0)).join(', ')})`],
    ['B sh script', `median ${ms(mb)}  (${b.map((x) => x.toFixed(0)).join(', ')})`],
    ['A/B', `${ratio(ma / mb, 3)}  (requirement <= 1.10x, goal <= 1.03x): ${ma / mb <= 1.03 ? 'goal met' : ma / mb <= 1.1 ? 'requirement met' : 'REQUIREMENT NOT MET'}`],
    ['A-B', `${ms(ma - mb)} per run`],
    ['CLI start+exit', `median ${ms(median(startup))} (rollgate validate of the same file), part of A-B`],
    ['(A-start)/B', `${ratio((ma - median(startup)) / mb, 3)}  (the engine's and providers' share, without the CLI start)`],
  ]);

  // Failed requests under load: a switch, then a rollback.
  await reset();
  const load = startLoad(url, 200, 4);
  await load.completed(100);
  load.phase('switch');
  const switched = await rollgate(good, 'v2');
  load.phase('after switch');
  await load.completed(100);
  await check('switch under load');
  load.phase('reset (not rollgate)');
  await reset();
  load.phase('settle (not rollgate)');
  await load.completed(100);
  writeFileSync(join(dir, 'sick-v3'), '2000');
  load.phase('rollback run');
  const rolledBack = await rollgate(bad, 'v3', true);
  load.phase('after rollback');
  await load.completed(100);
  await load.stop();
  if (rolledBack.code !== 1) throw new Error(`the rollback run exited ${rolledBack.code}, expected 1:\n${rolledBack.stdout.slice(-2000)}`);
  const counts = load.counts();
  console.log(`under load (~200 req/s through nginx, new connection each): switch run ${ms(switched.wallMs, 0)}, rollback run ${ms(rolledBack.wallMs, 0)}`);
  table(Object.entries(counts).map(([phase, c]) => [phase, `${c.failed} failed of ${c.requests}  ${JSON.stringify(c.versions)}`]));
  const failed = (...phases) => phases.reduce((n, p) => n + (counts[p]?.failed ?? 0), 0);
  console.log(`failed requests: ${failed('switch', 'after switch')} during the switch, ${failed('rollback run', 'after rollback')} during the rollback`);
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  try {
    process.kill(-nginx.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await Promise.allSettled(
    HOSTS.map(async (h) => {
      const { pid } = await request(`http://${address(h)}/health`);
      if (pid > 1) process.kill(pid, 'SIGTERM');
    }),
  );
  await until(async () => (await request(url)).status === 0, 'nginx did not stop').catch(() => undefined);
  tmp.cleanup();
}
process.exit(code);

/** One GET on a new connection: status (0 when it failed), version and pid headers. */
function request(target) {
  return new Promise((resolve) => {
    const req = get(target, { agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, version: res.headers['x-app-version'], pid: Number(res.headers['x-pid']) }));
      res.on('error', () => resolve({ status: 0 }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0 }));
  });
}

async function until(ok, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `concurrency` loops of GETs paced to `rate` per second in all, counted by the phase they started in. */
function startLoad(target, rate, concurrency) {
  const phases = {};
  let current = 'before';
  let running = true;
  const gap = (1000 * concurrency) / rate;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      const started = performance.now();
      const phase = current;
      const { status, version } = await request(target);
      const c = (phases[phase] ??= { requests: 0, failed: 0, versions: {} });
      c.requests += 1;
      if (status !== 200) c.failed += 1;
      const key = version ?? `status ${status}`;
      c.versions[key] = (c.versions[key] ?? 0) + 1;
      const rest = gap - (performance.now() - started);
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  });
  return {
    phase: (name) => (current = name),
    completed: (n) => until(async () => (phases[current]?.requests ?? 0) >= n, `fewer than ${n} requests in phase ${current}`, 30_000),
    counts: () => phases,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
