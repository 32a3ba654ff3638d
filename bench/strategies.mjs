// Strategies and recovery, through the library on the simulated infrastructure (virtual clock, so
// every figure is the engine's own wall time), with the run journal on disk (FileRunStore,
// fsynced) and the audit trail's file sink on, as the CLI runs. Run: node bench/strategies.mjs
//
// (a) progressive rollout over 200, 2,000 and 10,000 nodes: wall time per node; growth is judged
//     between neighbouring sizes (2,000 -> 10,000: 1.00x is linear). The 10,000-node rollout's
//     peak RSS is the kernel's maxRSS of a process that runs only it. Requirement: < 100 MB.
// (b) detection to rollback over 100 injected bad versions (4% errors: ready, but over the
//     analysis threshold of 2%): wall time from the first failed analysis sample to the first
//     change the rollback makes (its first infra.changed), p50/p99. Requirement (mission):
//     rollback started within 10 s of the failure; goal 1 s.
// (c) concurrent canary workflows in one process: 1 alone, 20 and 500 at once; wall time per
//     workflow (total / N) against one alone. Target (issue 14): 20 at once ≤ 1.10x one alone.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DIST, header, median, mib, ms, percentile, ratio, requireBuild, table, tempDir, verdict } from './lib.mjs';

requireBuild();
const lib = await import(pathToFileURL(join(DIST, 'index.js')).href);
const tmp = tempDir('strategies');
process.chdir(tmp.dir); // the default audit sink writes .rollgate/audit here
let runs = 0;

function load(text) {
  const result = lib.parseWorkflow(text, 'bench.yml');
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return { workflow: result.workflow, path: join(tmp.dir, 'bench.yml'), dir: tmp.dir, text, sha256: 'bench', warnings: [] };
}

async function run(loaded, subscribers = []) {
  const id = runs++;
  const store = new lib.FileRunStore(join(tmp.dir, `journal-${id}.json`));
  return lib.runWorkflow({ loaded, store, context: { actor: 'bench', ci: 'local' }, clock: lib.createVirtualClock(0), subscribers, runId: `bench-${id}` });
}

const progressive = (nodes) => `
version: 1
name: fleet
inputs: { version: { default: v2 } }
environments: { production: {} }
sim: { nodes: ${nodes}, services: { web: { version: v1 } }, versions: { v2: { startup: 5s } } }
stages:
  - name: web
    environment: production
    target: { type: sim, service: web }
    strategy: { type: progressive, waves: [1, "10%", "50%", "100%"], maxParallel: "5%", maxUnavailable: "5%", bake: 1m }
`;

/** One measured progressive rollout (after one unrecorded, for the JIT): wall ms. */
async function progressiveRun(nodes) {
  const loaded = load(progressive(nodes));
  await run(loaded);
  const t0 = process.hrtime.bigint();
  const outcome = await run(loaded);
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (outcome.status !== 'succeeded') throw new Error(`progressive ${nodes}: ${outcome.status}`);
  return wall;
}

// Child mode: one 10,000-node rollout alone in this process, for its peak RSS.
if (process.env.BENCH_STRATEGIES_CHILD) {
  const nodes = Number(process.env.BENCH_STRATEGIES_CHILD);
  const t0 = process.hrtime.bigint();
  const outcome = await run(load(progressive(nodes)));
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (outcome.status !== 'succeeded') throw new Error(`progressive ${nodes}: ${outcome.status}`);
  process.stdout.write(JSON.stringify({ wall, peak: process.resourceUsage().maxRSS * 1024 }));
  process.chdir('/');
  tmp.cleanup();
  process.exit(0);
}

header('strategies: progressive fleets, detection-to-rollback latency, concurrent canaries (library, virtual clock, journal and audit on)');
try {
  // (a) progressive, each size run twice (the first warms the JIT), the second measured.
  const fleet = {};
  for (const nodes of [200, 2_000, 10_000]) fleet[nodes] = { wall: await progressiveRun(nodes) };
  for (const f of Object.entries(fleet)) f[1].perNode = f[1].wall / Number(f[0]);
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, BENCH_STRATEGIES_CHILD: '10000' }, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`the 10,000-node process failed: ${child.stderr}`);
  const alone = JSON.parse(child.stdout);
  const growth = fleet[10_000].perNode / fleet[2_000].perNode;
  console.log('\n## (a) progressive rollout, waves 1 / 10% / 50% / 100%, 5% at a time');
  table([
    ...[200, 2_000, 10_000].map((n) => [`${n.toLocaleString('en')} nodes`, `${ms(fleet[n].wall)}  (${ms(fleet[n].perNode, 3)} per node)`]),
    ['time per node, 10,000 vs 2,000', `${ratio(growth)}  ${verdict(growth <= 1.1, 'linear growth: ≤ 1.10×')}`],
    ['time per node, 10,000 vs 200', `${ratio(fleet[10_000].perNode / fleet[200].perNode)}  (fixed costs weigh on small fleets)`],
    ['peak RSS, a process running one 10,000-node rollout', `${mib(alone.peak)}  ${verdict(alone.peak < 100e6, 'requirement < 100 MB')}  (its rollout: ${ms(alone.wall)})`],
  ]);

  // (b) detection to rollback: a bad canary caught by its first analysis sample.
  const bad = load(`
version: 1
name: canary-bad
inputs: { version: { default: v2 } }
environments: { production: {} }
sim: { nodes: 5, services: { web: { version: v1 } }, failures: [{ kind: bad-version, version: v2, errorRate: 0.04 }] }
stages:
  - name: web
    environment: production
    target: { type: sim, service: web }
    router: { type: sim, service: web }
    strategy:
      type: canary
      abortScaleDownDelay: 0s
      steps:
        - setWeight: 10
        - analysis: { metrics: [{ name: errors, query: candidate-error-rate, successCondition: "result < 0.02", interval: 10s, count: 3 }] }
`);
  const toAction = [];
  const toStarted = [];
  const virtual = [];
  for (let i = 0; i < 101; i++) {
    let detected;
    let detectedAt;
    let rolling = false;
    let acted = false;
    const outcome = await run(bad, [
      (e) => {
        if (e.kind === 'analysis.measured' && e.verdict === 'failed' && detected === undefined) {
          detected = process.hrtime.bigint();
          detectedAt = Date.parse(e.time);
        }
        if (e.kind === 'rollback.started' && detected !== undefined) {
          rolling = true;
          if (i > 0) toStarted.push(Number(process.hrtime.bigint() - detected) / 1e6);
        }
        if (rolling && !acted && e.kind === 'infra.changed') {
          acted = true;
          if (i > 0) toAction.push(Number(process.hrtime.bigint() - detected) / 1e6); // the first run warms the JIT
          if (i > 0) virtual.push(Date.parse(e.time) - detectedAt);
        }
      },
    ]);
    if (outcome.status !== 'rolled-back' || !acted) throw new Error(`bad canary ended ${outcome.status}${acted ? '' : ' without a rollback change'}`);
  }
  const p99 = percentile(toAction, 99);
  console.log('\n## (b) detection to rollback, 100 bad canaries (first failed sample -> first change the rollback makes)');
  table([
    ['wall time to the first rollback change, p50 / p99', `${ms(percentile(toAction, 50), 2)} / ${ms(p99, 2)}  ${verdict(p99 < 10_000, 'requirement < 10 s')}  ${verdict(p99 < 1_000, 'goal < 1 s')}`],
    ['wall time to rollback.started, p50 / p99', `${ms(percentile(toStarted, 50), 2)} / ${ms(percentile(toStarted, 99), 2)}`],
    ['simulated time between detection and the first change (max)', `${Math.max(...virtual)} ms (the sample interval, 10 s, comes before detection)`],
  ]);

  // (c) concurrent canaries: 1 alone, then 20 and 500 at once.
  const canary = load(`
version: 1
name: canary
inputs: { version: { default: v2 } }
environments: { production: {} }
sim: { nodes: 5, services: { web: { version: v1 } } }
stages:
  - name: web
    environment: production
    target: { type: sim, service: web }
    router: { type: sim, service: web }
    strategy:
      type: canary
      steps:
        - setWeight: 20
        - pause: { duration: 1m }
        - setWeight: 50
        - analysis: { metrics: [{ name: errors, query: candidate-error-rate, successCondition: "result < 0.05", interval: 30s, count: 2 }] }
`);
  const wave = async (n) => {
    const t0 = process.hrtime.bigint();
    const outcomes = await Promise.all(Array.from({ length: n }, () => run(canary)));
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const failed = outcomes.find((o) => o.status !== 'succeeded');
    if (failed) throw new Error(`concurrent canaries: ${failed.status}`);
    return wall / n;
  };
  for (let i = 0; i < 5; i++) await wave(1); // JIT
  const solo = [];
  for (let i = 0; i < 20; i++) solo.push(await wave(1));
  const per = { 1: median(solo), 20: median([await wave(20), await wave(20), await wave(20)]), 500: await wave(500) };
  console.log('\n## (c) concurrent canary workflows in one process, wall time per workflow (total / N)');
  table([
    ['1 alone (median of 20)', ms(per[1], 2)],
    ['20 at once (median of 3)', `${ms(per[20], 2)}  ratio ${ratio(per[20] / per[1])} one alone  ${verdict(per[20] / per[1] <= 1.1, 'target ≤ 1.10×')}`],
    ['500 at once', `${ms(per[500], 2)}  ratio ${ratio(per[500] / per[1])} one alone`],
  ]);
} finally {
  process.chdir('/');
  tmp.cleanup();
}
