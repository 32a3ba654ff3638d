// Strategies and recovery, through the library on the simulated infrastructure (virtual clock, so
// every figure is the engine's own wall time). Run: node bench/strategies.mjs
//
// (a) progressive rollout over 200 and 10,000 nodes: wall time per node and peak memory; the
//     10,000-node time per node against the 200-node one shows whether growth is linear (1.0x).
// (b) detection-to-rollback latency over 100 injected bad versions (4% errors: ready, but over the
//     analysis threshold of 2%): wall time from the first failed
//     analysis sample to rollback.started, p50/p99, against the 1 s budget (plus the sample interval,
//     which on the virtual clock costs no wall time).
// (c) 20 and 500 concurrent canary workflows in one process: p99 wall time between a step's start
//     and end (the engine's scheduling cost while the others run), 500 against 20 as the ratio.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, header, mb, ms, percentile, ratio, requireBuild, table, tempDir } from './lib.mjs';

requireBuild();
const lib = await import(pathToFileURL(join(DIST, 'index.js')).href);
const tmp = tempDir('strategies');
process.chdir(tmp.dir); // the default audit sink writes .rollgate/audit here

function load(text) {
  const result = lib.parseWorkflow(text, 'bench.yml');
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return { workflow: result.workflow, path: join(tmp.dir, 'bench.yml'), dir: tmp.dir, text, sha256: 'bench', warnings: [] };
}

async function run(loaded, subscribers = []) {
  return lib.runWorkflow({ loaded, store: new lib.MemoryRunStore(), context: { actor: 'bench', ci: 'local' }, clock: lib.createVirtualClock(0), subscribers });
}

const progressive = (nodes) => `
version: 1
name: fleet
inputs: { version: { default: v2 } }
environments: { production: {} }
audit: { sinks: [] }
sim: { nodes: ${nodes}, services: { web: { version: v1 } }, versions: { v2: { startup: 5s } } }
stages:
  - name: web
    environment: production
    target: { type: sim, service: web }
    strategy: { type: progressive, waves: [1, "10%", "50%", "100%"], maxParallel: "5%", maxUnavailable: "5%", bake: 1m }
`;

header('strategies: progressive fleets, detection-to-rollback latency, concurrent canaries (library, virtual clock)');
try {
  // (a) progressive, run twice each (the first warms the JIT), the second measured.
  const fleet = {};
  for (const nodes of [200, 10_000]) {
    const loaded = load(progressive(nodes));
    await run(loaded);
    global.gc?.();
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const t0 = process.hrtime.bigint();
    const outcome = await run(loaded);
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    clearInterval(sampler);
    if (outcome.status !== 'succeeded') throw new Error(`progressive ${nodes}: ${outcome.status}`);
    fleet[nodes] = { wall, perNode: wall / nodes, peak };
  }
  console.log('\n## (a) progressive rollout, waves 1 / 10% / 50% / 100%, 5% at a time');
  table([
    ['200 nodes', `${ms(fleet[200].wall)}  (${ms(fleet[200].perNode, 3)} per node), peak RSS ${mb(fleet[200].peak)}`],
    ['10,000 nodes', `${ms(fleet[10_000].wall)}  (${ms(fleet[10_000].perNode, 3)} per node), peak RSS ${mb(fleet[10_000].peak)}`],
    ['time per node, 10,000 vs 200', `${ratio(fleet[10_000].perNode / fleet[200].perNode)}  (1.00x is linear growth)`],
  ]);

  // (b) detection-to-rollback: a bad canary caught by its first analysis sample.
  const bad = load(`
version: 1
name: canary-bad
inputs: { version: { default: v2 } }
environments: { production: {} }
audit: { sinks: [] }
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
  const latencies = [];
  const virtual = [];
  for (let i = 0; i < 100; i++) {
    let detected;
    let detectedAt;
    const outcome = await run(bad, [
      (e) => {
        if (e.kind === 'analysis.measured' && e.verdict === 'failed' && detected === undefined) {
          detected = process.hrtime.bigint();
          detectedAt = Date.parse(e.time);
        }
        if (e.kind === 'rollback.started' && detected !== undefined) {
          latencies.push(Number(process.hrtime.bigint() - detected) / 1e6);
          virtual.push(Date.parse(e.time) - detectedAt);
        }
      },
    ]);
    if (outcome.status !== 'rolled-back') throw new Error(`bad canary ended ${outcome.status}`);
  }
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  console.log('\n## (b) detection to rollback start, 100 bad canaries (first failed sample -> rollback.started)');
  table([
    ['wall time p50 / p99', `${ms(p50, 2)} / ${ms(p99, 2)}`],
    ['p99 against the 1 s budget', `${ratio(p99 / 1000, 4)}`],
    ['simulated time between them (max)', `${Math.max(...virtual)} ms (the sample interval is 10 s)`],
  ]);

  // (c) concurrent canaries: step wall times with 20 and 500 workflows running at once.
  const canary = load(`
version: 1
name: canary
inputs: { version: { default: v2 } }
environments: { production: {} }
audit: { sinks: [] }
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
  const concurrent = {};
  for (const n of [20, 500]) {
    const steps = [];
    const started = new Map();
    const sub = (id) => (e) => {
      if (e.kind === 'step.started') started.set(`${id}/${e.step}`, process.hrtime.bigint());
      if (e.kind === 'step.succeeded') steps.push(Number(process.hrtime.bigint() - started.get(`${id}/${e.step}`)) / 1e6);
    };
    const t0 = process.hrtime.bigint();
    const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => run(canary, [sub(i)])));
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    if (outcomes.some((o) => o.status !== 'succeeded')) throw new Error(`concurrent canaries: ${outcomes.find((o) => o.status !== 'succeeded').status}`);
    concurrent[n] = { p50: percentile(steps, 50), p99: percentile(steps, 99), wall, perWorkflow: wall / n };
  }
  console.log('\n## (c) concurrent canary workflows in one process (step start -> end, wall time)');
  table([
    ['20 workflows', `step p50 ${ms(concurrent[20].p50, 2)}, p99 ${ms(concurrent[20].p99, 2)}; ${ms(concurrent[20].wall)} in all (${ms(concurrent[20].perWorkflow, 2)} per workflow)`],
    ['500 workflows', `step p50 ${ms(concurrent[500].p50, 2)}, p99 ${ms(concurrent[500].p99, 2)}; ${ms(concurrent[500].wall)} in all (${ms(concurrent[500].perWorkflow, 2)} per workflow)`],
    ['per-workflow wall time, 500 vs 20', ratio(concurrent[500].perWorkflow / concurrent[20].perWorkflow)],
    ['step p99, 500 vs 20', ratio(concurrent[500].p99 / concurrent[20].p99)],
  ]);
} finally {
  process.chdir('/');
  tmp.cleanup();
}
