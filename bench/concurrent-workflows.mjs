// 1,000 simulated workflows running at once in one process, through the library API.
// Run: node bench/concurrent-workflows.mjs   (BENCH_WORKFLOWS=N to change the count)
//
// Each workflow has two `sim` stages (direct strategy with a bake pause), its own MemoryRunStore
// and its own virtual clock, so a step never waits on real time: the wall time between a step's
// `step.started` and `step.succeeded` events is what the engine and the event loop cost. The
// baseline, in the same process, is 1,000 plain async tasks that take the same steps, each step
// awaiting setImmediate as many times as the workflow's step waited on its clock.
import { pathToFileURL } from 'node:url';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DIST, header, mb, median, ms, percentile, ratio, requireBuild, table, tempDir } from './lib.mjs';

requireBuild();

const N = Math.max(1, Number(process.env.BENCH_WORKFLOWS ?? 1000));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const { parseWorkflow, runWorkflow, MemoryRunStore, createVirtualClock } = await import(pathToFileURL(join(DIST, 'index.js')).href);

const TEXT = `version: 1
name: bench
inputs:
  version: { default: v2 }
environments:
  staging: {}
  production: {}
sim:
  nodes: 3
  services:
    web: { version: v1 }
  versions:
    v2: { startup: 20s }
stages:
  - name: staging
    environment: staging
    target: { type: sim, service: web }
    strategy: { type: direct, bake: 2m }
    verify: { timeout: 2m, interval: 10s }
  - name: production
    environment: production
    needs: [staging]
    target: { type: sim, service: web }
    strategy: { type: direct, bake: 2m }
    verify: { timeout: 2m, interval: 10s }
`;

const context = { actor: 'bench', ci: 'local' };

// A full GC between rounds tells retained memory (a leak would grow round after round) from garbage
// V8 has not collected yet. Only used between rounds, never while anything is timed.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const heapAfterGc = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

function load() {
  const result = parseWorkflow(TEXT, 'bench.yml');
  if (!result.ok) throw new Error(`bench workflow is invalid: ${JSON.stringify(result.errors)}`);
  return { workflow: result.workflow, path: '/bench/bench.yml', dir: process.cwd(), text: TEXT, sha256: 'bench', warnings: result.warnings };
}

/**
 * One workflow run. Records the wall time of each step, and how many times each step waited on
 * the clock (a sleep or a timer firing is one trip through the event loop for the virtual clock).
 */
function startWorkflow(loaded, index, stepTimes, calibration) {
  const waits = calibration?.waits;
  const virtual = createVirtualClock();
  let current; // "stage/step" running now (stages run one after the other here)
  const started = new Map();
  const clock = {
    now: () => virtual.now(),
    advance: (x) => virtual.advance(x),
    sleep: (msArg, signal) => {
      if (current && waits) waits.set(current, (waits.get(current) ?? 0) + 1);
      return virtual.sleep(msArg, signal);
    },
    setTimer: (msArg, fn) => virtual.setTimer(msArg, fn),
    hold: (work) => virtual.hold(work), // journal writes hold simulated time still
  };
  const subscriber = (event) => {
    if (event.kind === 'step.started') {
      current = `${event.stage}/${event.step}`;
      calibration?.order.push(current);
      started.set(current, process.hrtime.bigint());
    } else if (event.kind === 'step.succeeded') {
      const key = `${event.stage}/${event.step}`;
      stepTimes.push(Number(process.hrtime.bigint() - started.get(key)) / 1e6);
      current = undefined;
    }
  };
  return runWorkflow({
    loaded,
    store: new MemoryRunStore(),
    context,
    clock,
    runId: `bench-${index}`,
    subscribers: [subscriber],
  }).then((outcome) => {
    if (outcome.status !== 'succeeded') throw new Error(`workflow ${index} ended ${outcome.status}`);
  });
}

/** The baseline task: the same steps, each awaiting setImmediate `hops[i]` times. */
async function plainTask(hops, stepTimes) {
  for (const h of hops) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < h; i++) await new Promise((r) => setImmediate(r));
    stepTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}

/** Samples RSS every 10 ms (late when the loop is busy; maxRSS from the kernel covers the gaps). */
function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss);
  };
}

header(`concurrent-workflows: ${N} simulated workflows at once in one process vs ${N} plain async tasks (${ROUNDS} rounds, medians of per-round figures)`);
const tmp = tempDir('concurrent');
const originalCwd = process.cwd();
process.chdir(tmp.dir); // the default file audit sink writes .rollgate/audit/<run>.jsonl here
try {
  const rssStart = process.memoryUsage().rss;
  const heapStart = heapAfterGc();

  // Calibration: one workflow alone tells the steps, in order, and how often each waits on its clock.
  const calibration = { order: [], waits: new Map() };
  const soloTimes = [];
  await startWorkflow(load(), 'solo', soloTimes, calibration);
  const stepsPerWorkflow = soloTimes.length;
  const allSteps = calibration.order.map((key) => [key, calibration.waits.get(key) ?? 0]);
  const baselineHops = allSteps.map(([, w]) => Math.max(1, w));

  // Warm-up (JIT) with a few workflows and tasks, not recorded.
  await Promise.all(Array.from({ length: 20 }, (_, i) => startWorkflow(load(), `warm-${i}`, [], undefined)));
  await Promise.all(Array.from({ length: 20 }, () => plainTask(baselineHops, [])));

  // Reference: the same workflow alone (one at a time), so each step only waits on its own work.
  const aloneTimes = [];
  for (let i = 0; i < 50; i++) await startWorkflow(load(), `alone-${i}`, aloneTimes, undefined);

  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Baseline.
    const baseTimes = [];
    let t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: N }, () => plainTask(baselineHops, baseTimes)));
    const baseWall = Number(process.hrtime.bigint() - t0) / 1e6;

    // Workflows: parse each (own Workflow object), then start them all at once.
    t0 = process.hrtime.bigint();
    const loadedAll = Array.from({ length: N }, () => load());
    const parseMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const rssBefore = process.memoryUsage().rss;
    const stop = rssSampler();
    const times = [];
    t0 = process.hrtime.bigint();
    await Promise.all(loadedAll.map((l, i) => startWorkflow(l, `${round}-${i}`, times, undefined)));
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const peak = stop();
    rounds.push({
      baseP50: percentile(baseTimes, 50),
      baseP99: percentile(baseTimes, 99),
      baseWall,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      wall,
      parseMs,
      rssBefore,
      peak,
      steps: times.length,
      heapAfter: heapAfterGc(),
    });
    process.stderr.write(process.stderr.isTTY ? `  round ${round + 1}/${ROUNDS}\r` : '');
  }
  const maxRss = process.resourceUsage().maxRSS * 1024;
  const m = (k) => median(rounds.map((r) => r[k]));

  console.log(`\nper workflow: ${stepsPerWorkflow} steps (${allSteps.map(([k, w]) => `${k}:${w}`).join(', ')} clock waits)`);
  console.log(`baseline task: ${baselineHops.length} steps of ${baselineHops.join('/')} setImmediate hops\n`);
  table([
    ['step wall time, one workflow alone', `p50 ${ms(percentile(aloneTimes, 50), 3)}, p99 ${ms(percentile(aloneTimes, 99), 3)}  (50 runs one after the other)`],
    ['step wall time p50', `${ms(m('p50'), 2)}  vs baseline ${ms(m('baseP50'), 2)}  ratio ${ratio(m('p50') / m('baseP50'))}`],
    ['step wall time p99', `${ms(m('p99'), 2)}  vs baseline ${ms(m('baseP99'), 2)}  ratio ${ratio(m('p99') / m('baseP99'))}`],
    ['total wall time', `${ms(m('wall'), 0)}  vs baseline ${ms(m('baseWall'), 0)}  ratio ${ratio(m('wall') / m('baseWall'))}`],
    ['per workflow (wall / N)', `${ms(m('wall') / N, 3)}  (${(N / (m('wall') / 1000)).toFixed(0)} workflows/s)`],
    ['steps timed per round', `${m('steps')} (expected ${N * stepsPerWorkflow}); audit files written by all runs (warm-up included): ${readdirSync(join(tmp.dir, '.rollgate', 'audit')).length}`],
    ['parse (parseWorkflow x N, not in wall)', `${ms(m('parseMs'), 0)}  (${ms(m('parseMs') / N, 2)} each)`],
    ['wall time per step (wall / steps)', `${ms(m('wall') / (N * stepsPerWorkflow), 3)}  vs baseline ${ms(m('baseWall') / (N * stepsPerWorkflow), 4)}`],
    ['RSS at script start (after imports)', mb(rssStart)],
    ['RSS before round 1 starts its workflows', `${mb(rounds[0].rssBefore)}  (${N} workflows parsed; later rounds: ${rounds.slice(1).map((r) => mb(r.rssBefore)).join(', ') || '-'})`],
    ['peak RSS while running, round 1', `${mb(rounds[0].peak)}  ratio vs script start ${ratio(rounds[0].peak / rssStart)}`],
    ['peak RSS while running, all rounds', `${mb(Math.max(...rounds.map((r) => r.peak)))}  ratio vs script start ${ratio(Math.max(...rounds.map((r) => r.peak)) / rssStart)}`],
    ['heap retained after a full GC', `${mb(heapStart)} at start; after each round: ${rounds.map((r) => mb(r.heapAfter)).join(', ')}`],
    ['maxRSS (kernel, whole process)', `${mb(maxRss)}  ratio vs script start ${ratio(maxRss / rssStart)}`],
  ]);
} finally {
  process.chdir(originalCwd);
  tmp.cleanup();
}
