// The fleet target's commands for the local fleets of the end-to-end tests and benchmarks, as a
// user would write them: argv `node host-ctl.mjs <current|deploy|health|revert>`, everything else
// from the environment (ROLLGATE_HOST, ROLLGATE_VERSION, ROLLGATE_PREVIOUS_VERSION,
// ROLLGATE_PREVIOUS_STATE, and the runner's FLEET_DIR). A host is <FLEET_DIR>/hosts/<host>/: its
// `port`, and `bad-<version>` when that version must fail its health check there. Every call is
// appended to <FLEET_DIR>/calls.log. It runs host-server.mjs.
// `<FLEET_DIR>/fail-<version>` holds the share of requests that version fails, and
// `<FLEET_DIR>/sick-<version>` the milliseconds after its start when its health check turns 503.
// Deploy leaves a host alone when it already serves the version healthily (idempotent without a
// restart: a promotion must not bounce the hosts that carry all the traffic).
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [action] = process.argv.slice(2);
const env = process.env;
const host = env.ROLLGATE_HOST ?? '';
const fleetDir = env.FLEET_DIR ?? '';
const hostDir = join(fleetDir, 'hosts', host);
const portFile = join(hostDir, 'port');
if (!existsSync(portFile)) fail(`unknown host ${host} (no ${portFile})`);
const port = Number(readFileSync(portFile, 'utf8'));
const SERVER = join(dirname(fileURLToPath(import.meta.url)), 'host-server.mjs');
appendFileSync(join(fleetDir, 'calls.log'), `${action} ${host} ${env.ROLLGATE_VERSION ?? ''} ${env.ROLLGATE_PREVIOUS_STATE ?? ''}\n`);

/** What serves the port: pid, version and health; undefined when nothing. */
async function probe() {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    const pid = Number(res.headers.get('x-pid'));
    if (!Number.isInteger(pid) || pid <= 1) fail(`${host}: port ${port} is taken by another program`);
    return { pid, version: res.headers.get('x-app-version') ?? '', status: res.status, body: (await res.text()).trim() };
  } catch {
    return undefined;
  }
}

async function until(ok, what) {
  const deadline = Date.now() + 8000;
  while (!(await ok())) {
    if (Date.now() > deadline) fail(`${host}: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function gone(pid) {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] === 'Z';
  } catch {
    return true;
  }
}

async function stop() {
  for (let r = await probe(); r; r = await probe()) {
    try {
      process.kill(r.pid, 'SIGTERM');
    } catch {
      continue;
    }
    await until(() => gone(r.pid), `process ${r.pid} did not stop`);
  }
}

async function start(wanted) {
  const now = await probe();
  if (now?.version === wanted && now.status === 200) return void console.log(`${host}: already serves ${wanted}`);
  await stop();
  const knob = (name) => (existsSync(join(fleetDir, `${name}-${wanted}`)) ? readFileSync(join(fleetDir, `${name}-${wanted}`), 'utf8').trim() : '');
  const child = spawn(process.execPath, [SERVER], {
    detached: true,
    stdio: 'ignore',
    // A version bad on this host is sick from its start.
    env: { PORT: String(port), VERSION: wanted, FAIL_RATE: knob('fail') || '0', ...(existsSync(join(hostDir, `bad-${wanted}`)) ? { SICK_AFTER_MS: '0' } : knob('sick') ? { SICK_AFTER_MS: knob('sick') } : {}) },
  });
  child.unref();
  await until(async () => (await probe())?.pid === child.pid, `version ${wanted} did not start on port ${port}`);
  console.log(`${host}: ${wanted} started on port ${port} (pid ${child.pid})`);
}

function fail(message) {
  console.error(message);
  process.exit(1);
}

switch (action) {
  case 'current': {
    const r = await probe();
    if (r) process.stdout.write(`${r.version}\n`);
    break;
  }
  case 'deploy':
    await start(env.ROLLGATE_VERSION ?? '');
    break;
  case 'health': {
    const r = await probe();
    const expected = `ok ${env.ROLLGATE_VERSION ?? ''}`;
    if (!r || r.status !== 200 || r.body !== expected) fail(`${host}: GET /health answered ${r ? `${r.status} '${r.body}'` : 'nothing'}, expected 200 '${expected}'`);
    break;
  }
  case 'revert':
    if (env.ROLLGATE_PREVIOUS_STATE === 'version') await start(env.ROLLGATE_PREVIOUS_VERSION ?? '');
    else if (env.ROLLGATE_PREVIOUS_STATE === 'none') await stop();
    else fail(`${host}: the version before ${env.ROLLGATE_VERSION ?? ''} is unknown; nothing reverted`);
    break;
  default:
    fail(`usage: host-ctl.mjs current|deploy|health|revert (got ${action})`);
}
