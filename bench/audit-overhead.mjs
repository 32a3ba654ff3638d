// Audit-trail overhead: one rollout that emits ~10,000 events (progressive rollouts over five
// 2,000-node simulated fleets, one after the other), run through the library on the virtual clock
// with the audit trail off (`audit: { sinks: [] }`) and on (the `file` sink in a temporary
// folder: every event sealed into the hash chain, appended and fsynced at every journal write).
// Run: node bench/audit-overhead.mjs   (node --expose-gc for steadier figures)
//
// ratio = on / off, medians of alternating runs (the order flips every repetition).
// Requirement: ratio <= 1.05; target: ratio <= 1.01.
// Two journals: in memory (MemoryRunStore: the engine's own work only, the strictest baseline) and
// on disk (FileRunStore, fsynced, as the CLI writes it).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, header, mb, median, ms, pct, ratio, requireBuild, table, tempDir } from './lib.mjs';

requireBuild();
const lib = await import(pathToFileURL(join(DIST, 'index.js')).href);
const chain = await import(pathToFileURL(join(DIST, 'audit', 'chain.js')).href);

const FLEETS = 5;
const NODES = 2_000;
const REPS = Math.max(5, Math.min(50, Number(process.env.BENCH_REPS ?? 9)));
const REQUIREMENT = 1.05;
const TARGET = 1.01;

const tmp = tempDir('audit');

function workflowText(sinks) {
  const lines = [
    'version: 1',
    'name: audit-overhead',
    'inputs: { version: { default: v2 } }',
    'environments: { production: {} }',
    `audit: { sinks: ${sinks} }`,
    `sim: { nodes: ${NODES}, services: { ${Array.from({ length: FLEETS }, (_, i) => `web${i}: { version: v1 }`).join(', ')} }, versions: { v2: { startup: 5s } } }`,
    'defaults: { maxParallelStages: 1 }',
    'stages:',
  ];
  for (let i = 0; i < FLEETS; i++) {
    lines.push(
      `  - name: web${i}`,
      '    environment: production',
      ...(i > 0 ? [`    needs: [web${i - 1}]`] : []),
      `    target: { type: sim, service: web${i} }`,
      '    strategy: { type: progressive, waves: [1, "10%", "50%", "100%"], maxParallel: "5%", maxUnavailable: "5%", bake: 1m }',
    );
  }
  return `${lines.join('\n')}\n`;
}

function load(text) {
  const result = lib.parseWorkflow(text, 'bench.yml');
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return { workflow: result.workflow, path: join(tmp.dir, 'bench.yml'), dir: tmp.dir, text, sha256: 'bench', warnings: [] };
}

const auditDir = join(tmp.dir, 'audit');
const variants = {
  off: load(workflowText('[]')),
  on: load(workflowText(`[{ type: file, dir: ${JSON.stringify(auditDir)} }]`)),
};

let runNo = 0;
/** One run; resolves with its wall time (ms), its event count and its journal saves. */
async function run(loaded, journal) {
  runNo += 1;
  const store = journal === 'disk' ? new lib.FileRunStore(join(tmp.dir, 'state', `run-${runNo}.json`)) : new lib.MemoryRunStore();
  let saves = 0;
  const save = store.save.bind(store);
  store.save = (j) => {
    saves += 1;
    return save(j);
  };
  let events = 0;
  const warnings = [];
  global.gc?.();
  const t0 = process.hrtime.bigint();
  const outcome = await lib.runWorkflow({
    loaded,
    store,
    context: { actor: 'bench', ci: 'local' },
    clock: lib.createVirtualClock(0),
    runId: `audit-overhead-${runNo}`,
    subscribers: [() => (events += 1)],
    onWarning: (w) => warnings.push(w),
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (outcome.status !== 'succeeded') throw new Error(`run ${runNo} ended ${outcome.status}`);
  if (warnings.length > 0) throw new Error(`run ${runNo} warned: ${warnings.join('; ')}`);
  return { wallMs, events, saves, runId: outcome.runId };
}

/** One run on the wall clock (the workflow asks for it); resolves with its wall time. */
async function runReal(loaded) {
  runNo += 1;
  const t0 = process.hrtime.bigint();
  const outcome = await lib.runWorkflow({ loaded, store: new lib.MemoryRunStore(), context: { actor: 'bench', ci: 'local' }, runId: `audit-overhead-${runNo}` });
  if (outcome.status !== 'succeeded') throw new Error(`run ${runNo} ended ${outcome.status}`);
  return { wallMs: Number(process.hrtime.bigint() - t0) / 1e6 };
}

header(`audit-overhead: ${FLEETS} progressive rollouts over ${NODES}-node fleets, audit trail off vs on (file sink), library, virtual clock (${REPS} alternating runs each, medians)`);

// The MaxListeners warnings of the simulation are not what this measures: keep the output clean.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'MaxListenersExceededWarning') console.error(w);
});

try {
  const results = {};
  let events = 0;
  let saves = 0;
  let lastOn;
  for (const journal of ['memory', 'disk']) {
    // Warm-up (JIT, file cache), not recorded.
    for (let i = 0; i < 2; i++) {
      await run(variants.off, journal);
      await run(variants.on, journal);
    }
    const samples = { off: [], on: [] };
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      for (const v of order) {
        const r = await run(variants[v], journal);
        samples[v].push(r.wallMs);
        events = r.events;
        saves = r.saves;
        if (v === 'on') lastOn = r.runId;
      }
      if (process.stderr.isTTY) process.stderr.write(`  ${journal}: rep ${rep + 1}/${REPS}\r`);
    }
    if (process.stderr.isTTY) process.stderr.write('\n');
    results[journal] = { off: median(samples.off), on: median(samples.on), samples };
  }

  // What the trail holds: one line per event.
  const trail = join(auditDir, `${lastOn}.jsonl`);
  const lines = readFileSync(trail, 'utf8').trim().split('\n').length;
  const bytes = statSync(trail).size;
  const trails = readdirSync(auditDir).length;

  // The floor of the file sink's CPU work: sealing each entry into its JSON line (one
  // serialisation + SHA-256), timed alone on the entries of that trail (best of 3 passes).
  const bodies = readFileSync(trail, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { hash, hmac, seq, prevHash, ...body } = JSON.parse(l);
      return body;
    });
  let sealUs = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    let head = { seq: 0, hash: null };
    const t0 = process.hrtime.bigint();
    for (const body of bodies) head = chain.sealLine(body, head).head;
    sealUs = Math.min(sealUs, Number(process.hrtime.bigint() - t0) / 1e3 / bodies.length);
  }

  const verdict = (x) =>
    x <= TARGET ? `MET the target (${pct(x - 1)})` : x <= REQUIREMENT ? `meets the requirement, misses the ${pct(TARGET - 1)} target (${pct(x - 1)})` : `MISSED the requirement (${pct(x - 1)} instead of <= ${pct(REQUIREMENT - 1)})`;

  for (const [journal, r] of Object.entries(results)) {
    const x = r.on / r.off;
    console.log(`\n## journal ${journal === 'memory' ? 'in memory (MemoryRunStore): the engine alone' : 'on disk (FileRunStore, fsynced): as the CLI runs'}`);
    table([
      ['audit off median', ms(r.off)],
      ['audit on median', ms(r.on)],
      ['ratio on / off', `${ratio(x, 3)}  ${verdict(x)}`],
      ['audit cost per event', `${((r.on - r.off) * 1000 / events).toFixed(1)} µs`],
      ['spread off (min..max)', `${ms(Math.min(...r.samples.off))} .. ${ms(Math.max(...r.samples.off))}`],
      ['spread on (min..max)', `${ms(Math.min(...r.samples.on))} .. ${ms(Math.max(...r.samples.on))}`],
    ]);
  }
  console.log('\n## the run');
  table([
    ['events per run', `${events}`],
    ['journal writes (= audit flushes) per run', `${saves}`],
    ['audit lines per run', `${lines} (${mb(bytes)}, ${(bytes / lines).toFixed(0)} bytes per entry)`],
    ['trails written', `${trails}`],
    ['seal + JSON line per entry, alone', `${sealUs.toFixed(1)} µs (${pct((sealUs * events) / 1000 / results.memory.off)} of the in-memory run without audit)`],
  ]);
  // A rollout as it happens: the same fleets on the wall clock (20 ms per unit start, no bake),
  // so the trail's work competes with a rollout that spends its time waiting, not with pure CPU.
  const realText = (sinks) =>
    workflowText(sinks)
      .replace('versions: { v2: { startup: 5s } } }', 'versions: { v2: { startup: 20ms } }, clock: real }')
      .replaceAll(', bake: 1m', '');
  const real = { off: load(realText('[]')), on: load(realText(`[{ type: file, dir: ${JSON.stringify(auditDir)} }]`)) };
  const realSamples = { off: [], on: [] };
  const REAL_REPS = 3;
  for (let rep = 0; rep < REAL_REPS; rep++) {
    for (const v of rep % 2 === 0 ? ['off', 'on'] : ['on', 'off']) realSamples[v].push((await runReal(real[v])).wallMs);
  }
  const realOff = median(realSamples.off);
  const realOn = median(realSamples.on);
  console.log(`\n## a rollout on the wall clock (sim.clock: real, 20 ms per unit start, ${REAL_REPS} alternating runs, medians)`);
  table([
    ['audit off median', ms(realOff)],
    ['audit on median', ms(realOn)],
    ['ratio on / off', `${ratio(realOn / realOff, 3)}  ${verdict(realOn / realOff)}`],
  ]);
  console.log(`\n  requirement: ratio <= ${REQUIREMENT}; target: ratio <= ${TARGET}`);
} finally {
  tmp.cleanup();
}
