// Workflows at once in one process, through the library API, with the run journal on disk
// (FileRunStore, fsynced) and the audit trail's file sink on, as the CLI runs them.
// Run: node bench/concurrent-workflows.mjs   (BENCH_WORKFLOWS=N to change the 1,000)
//
// (A) 20 `command` workflows at once on the real clock: 5 stages each, with `current`, `deploy`
//     (a 200 ms sleep), `health` and `revert` as the README writes them. Each workflow's own wall
//     time (start to outcome), median, against the same workflow run alone (median of 5). Target
//     (issue 14): ≤ 1.10x. Peak RSS of the process so far (kernel maxRSS): requirement < 100 MB.
// (B) 1,000 simulated workflows at once: two `sim` stages each (direct strategy with a bake pause),
//     each with its own virtual clock, so a step never waits on real time: the wall time between a
//     step's `step.started` and `step.succeeded` events is what the engine, the journal and the
//     event loop cost. Reported against the same workflow run alone, and against 1,000 plain async
//     tasks that take the same steps (each awaiting setImmediate as often as the step waited on
//     its clock), in the same process and round.
import { pathToFileURL } from 'node:url';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DIST, header, mb, median, ms, percentile, ratio, requireBuild, table, tempDir, verdict } from './lib.mjs';

requireBuild();

const N = Math.max(1, Number(process.env.BENCH_WORKFLOWS ?? 1000));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const { parseWorkflow, runWorkflow, FileRunStore, createVirtualClock } = await import(pathToFileURL(join(DIST, 'index.js')).href);

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
    store: new FileRunStore(join(process.cwd(), 'journals', `${index}.json`)),
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

// (A) command workflows on the real clock.
const COMMAND_STAGES = 5;
const WORKFLOWS_A = 20;
const COMMAND_TEXT = (() => {
  const argv = (a) => `[${a.map((x) => JSON.stringify(x)).join(', ')}]`;
  const lines = ['version: 1', 'name: commands', 'inputs:', '  version: { default: "1" }', 'environments:', '  local: {}', 'defaults:', '  maxParallelStages: 1', 'stages:'];
  for (let i = 0; i < COMMAND_STAGES; i++) {
    lines.push(`  - name: s${i}`, '    environment: local', ...(i > 0 ? [`    needs: [s${i - 1}]`] : []), '    target:', '      type: command');
    lines.push(`      current: ${argv(['sh', '-c', 'cat "$BENCH_STATE/$ROLLGATE_STAGE" 2>/dev/null || true'])}`);
    lines.push(`      deploy: ${argv(['sh', '-c', 'sleep 0.2; printf "%s\\n" "$ROLLGATE_VERSION" > "$BENCH_STATE/$ROLLGATE_STAGE"'])}`);
    lines.push(`      health: ${argv(['sh', '-c', 'test -s "$BENCH_STATE/$ROLLGATE_STAGE"'])}`);
    lines.push(`      revert: ${argv(['sh', '-c', 'rm -f "$BENCH_STATE/$ROLLGATE_STAGE"'])}`);
    lines.push('    verify: { timeout: 30s, interval: 1s }');
  }
  return `${lines.join('\n')}\n`;
})();
let commandRuns = 0;
async function commandWorkflow(loaded) {
  const id = commandRuns++;
  const dir = join(process.cwd(), `cmd-${id}`);
  mkdirSync(join(dir, 'state'), { recursive: true });
  const t0 = process.hrtime.bigint();
  const outcome = await runWorkflow({
    loaded,
    store: new FileRunStore(join(dir, 'journal.json')),
    context,
    inputs: { version: `v${id}` },
    env: { ...process.env, BENCH_STATE: join(dir, 'state') },
    runId: `cmd-${id}`,
  });
  if (outcome.status !== 'succeeded') throw new Error(`command workflow ${id} ended ${outcome.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

header(`concurrent-workflows: ${N} simulated workflows at once in one process vs ${N} plain async tasks (${ROUNDS} rounds, medians of per-round figures)`);
const tmp = tempDir('concurrent');
const originalCwd = process.cwd();
mkdirSync(join(tmp.dir, 'journals'));
process.chdir(tmp.dir); // the default file audit sink writes .rollgate/audit/<run>.jsonl here
try {
  const commandText = parseWorkflow(COMMAND_TEXT, 'commands.yml');
  if (!commandText.ok) throw new Error(`command workflow is invalid: ${JSON.stringify(commandText.errors)}`);
  const commandLoaded = { workflow: commandText.workflow, path: join(tmp.dir, 'commands.yml'), dir: tmp.dir, text: COMMAND_TEXT, sha256: 'bench', warnings: [] };
  await commandWorkflow(commandLoaded); // warm-up
  const aloneA = [];
  for (let i = 0; i < 5; i++) aloneA.push(await commandWorkflow(commandLoaded));
  const atOnce = [];
  for (let round = 0; round < 3; round++) atOnce.push(...(await Promise.all(Array.from({ length: WORKFLOWS_A }, () => commandWorkflow(commandLoaded)))));
  const peakA = process.resourceUsage().maxRSS * 1024;
  const perA = median(atOnce) / median(aloneA);
  console.log(`\n## (A) ${WORKFLOWS_A} command workflows at once (${COMMAND_STAGES} stages, 200 ms deploys, real clock), each workflow's wall time`);
  table([
    ['one alone (median of 5)', ms(median(aloneA))],
    [`${WORKFLOWS_A} at once (median of ${atOnce.length}, 3 rounds)`, `${ms(median(atOnce))}  ratio ${ratio(perA)} one alone  ${verdict(perA <= 1.1, 'target ≤ 1.10×')}  (slowest ${ms(Math.max(...atOnce))})`],
    ['peak RSS of this process so far (kernel maxRSS)', `${mb(peakA)}  ${verdict(peakA < 100e6, 'requirement < 100 MB')}`],
  ]);
  console.log(`\n## (B) ${N} simulated workflows at once`);

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
    [`step wall time p99, ${N} at once vs one alone`, `${ms(m('p99'), 2)}  vs ${ms(percentile(aloneTimes, 99), 3)}  ratio ${ratio(m('p99') / percentile(aloneTimes, 99))}`],
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
