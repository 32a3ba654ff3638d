// The fleet target's commands for the end-to-end fleet, as a user would write them: argv
// `node host-ctl.mjs <current|deploy|health|revert>`, everything else from the environment
// (ROLLGATE_HOST, ROLLGATE_VERSION, ROLLGATE_PREVIOUS_VERSION, ROLLGATE_PREVIOUS_STATE, and the
// runner's FLEET_DIR). A host is <FLEET_DIR>/hosts/<host>/: its `port`, and `bad-<version>` when
// that version must fail its health check there. Every call is appended to <FLEET_DIR>/calls.log.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [action] = process.argv.slice(2);
const env = process.env;
const host = env.ROLLGATE_HOST ?? '';
const version = env.ROLLGATE_VERSION ?? '';
const fleetDir = env.FLEET_DIR ?? '';
const hostDir = join(fleetDir, 'hosts', host);
if (!existsSync(join(hostDir, 'port'))) fail(`unknown host ${host} (no ${join(hostDir, 'port')})`);
const port = Number(readFileSync(join(hostDir, 'port'), 'utf8'));
const SERVER = join(dirname(fileURLToPath(import.meta.url)), 'host-server.mjs');
appendFileSync(join(fleetDir, 'calls.log'), `${action} ${host} ${version} ${env.ROLLGATE_PREVIOUS_STATE ?? ''}\n`);

/** What serves the port now: its pid, version and health answer; undefined when nothing listens. */
async function probe() {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    const pid = Number(res.headers.get('x-pid'));
    // Never signal a pid that is not one of ours (0 would be this very process group).
    if (!Number.isInteger(pid) || pid <= 1) fail(`${host}: port ${port} is taken by another program`);
    return { pid, version: res.headers.get('x-version') ?? '', status: res.status, body: (await res.text()).trim() };
  } catch {
    return undefined;
  }
}

/** Whether `pid` still runs: a zombie waiting for a slow init to reap it has stopped. */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(ok, what) {
  const deadline = Date.now() + 5000;
  while (!(await ok())) {
    if (Date.now() > deadline) fail(`${host}: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function kill(pid) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await until(() => !alive(pid), `process ${pid} did not stop`);
}

/** Stops whatever serves the port, until nothing does. */
async function stop() {
  for (let r = await probe(); r; r = await probe()) await kill(r.pid);
}

async function start(wanted) {
  await stop();
  const bad = existsSync(join(hostDir, `bad-${wanted}`));
  const child = spawn(process.execPath, [SERVER], {
    detached: true,
    stdio: 'ignore',
    env: { PORT: String(port), VERSION: wanted, FAIL_HEALTH: bad ? '1' : '0' },
  });
  child.unref();
  // A server an interrupted deploy left behind may hold the port: stop it, keep ours.
  await until(async () => {
    const r = await probe();
    if (r && r.pid !== child.pid) await kill(r.pid);
    return r?.pid === child.pid;
  }, `version ${wanted} did not start on port ${port}`);
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
    await start(version);
    break;
  case 'health': {
    const r = await probe();
    if (!r) fail(`${host}: nothing answers on port ${port}`);
    if (r.status !== 200 || r.body !== `ok ${version}`) fail(`${host}: GET /health answered ${r.status} '${r.body}', expected 200 'ok ${version}'`);
    console.log(r.body);
    break;
  }
  case 'revert':
    if (env.ROLLGATE_PREVIOUS_STATE === 'version') await start(env.ROLLGATE_PREVIOUS_VERSION ?? '');
    else if (env.ROLLGATE_PREVIOUS_STATE === 'none') await stop();
    else fail(`${host}: the version before ${version} is unknown; nothing reverted`);
    break;
  default:
    fail(`usage: host-ctl.mjs current|deploy|health|revert (got ${action})`);
}
