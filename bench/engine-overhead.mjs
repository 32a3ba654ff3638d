// Engine overhead: 20 `command` stages chained by `needs`, run by the real CLI on the real clock,
// against the same 20 commands run by a plain `sh` script. Run: node bench/engine-overhead.mjs
//
// ratio = (rollgate - rollgate's own start-up) / script, medians of alternating runs.
// Target: rollgate within 3% of the script plus its own start-up (ratio <= 1.03).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, DIST, header, median, ms, pct, ratio, requireBuild, table, tempDir, timeSpawn } from './lib.mjs';

requireBuild();

const STAGES = 20;
const REPS = Math.max(5, Number(process.env.BENCH_REPS ?? 7));
const TARGET = 1.03;

function workflowText(deploy) {
  const lines = [
    'version: 1',
    'name: engine-overhead',
    'inputs:',
    '  version: { default: "1.0.0" }',
    'environments:',
    '  local: {}',
    'defaults:',
    '  maxParallelStages: 1',
    'stages:',
  ];
  for (let i = 0; i < STAGES; i++) {
    lines.push(`  - name: s${String(i).padStart(2, '0')}`, '    environment: local');
    if (i > 0) lines.push(`    needs: [s${String(i - 1).padStart(2, '0')}]`);
    lines.push(`    target: { type: command, deploy: ${JSON.stringify(deploy)} }`, '    verify: { timeout: 10s, interval: 1s }');
  }
  return `${lines.join('\n')}\n`;
}

// The script execs the same programs rollgate does: `sleep` is never a shell builtin, and `true`
// is called by its path so that sh forks and execs it (the builtin would cost nothing).
const trueBin =
  (process.env.PATH ?? '/usr/bin:/bin')
    .split(':')
    .map((d) => join(d || '.', 'true'))
    .find((f) => existsSync(f)) ?? '/bin/true';
const variants = [
  { name: 'sleep 0.5', deploy: ['sleep', '0.5'], scriptLine: 'sleep 0.5', reps: 3 },
  { name: 'sleep 0.05', deploy: ['sleep', '0.05'], scriptLine: 'sleep 0.05' },
  { name: 'true', deploy: ['true'], scriptLine: trueBin },
];

const tmp = tempDir('overhead');
let runCounter = 0;

for (const v of variants) {
  v.key = v.deploy.join('-');
  v.wf = join(tmp.dir, `wf-${v.key}.yml`);
  v.sh = join(tmp.dir, `script-${v.key}.sh`);
  writeFileSync(v.wf, workflowText(v.deploy));
  writeFileSync(v.sh, `${Array.from({ length: STAGES }, () => v.scriptLine).join('\n')}\n`);
  v.samples = { script: [], rollgate: [], startup: [], validate: [] };
  v.work = join(tmp.dir, `work-${v.key}`); // cwd of this variant's runs: its .rollgate/audit lands here
  mkdirSync(v.work);
}

const node = process.execPath;
const measure = {
  script: (v) => timeSpawn('sh', [v.sh], { cwd: v.work }),
  rollgate: (v) => timeSpawn(node, [CLI, 'run', v.wf, '--state', join(tmp.dir, `state-${++runCounter}.json`)], { cwd: v.work }),
  startup: (v) => timeSpawn(node, [CLI, '--version'], { cwd: v.work }),
  validate: (v) => timeSpawn(node, [CLI, 'validate', v.wf], { cwd: v.work }),
};

header(`engine-overhead: ${STAGES} command stages chained by needs vs a plain sh script (${REPS} alternating runs each, medians)`);
try {
  // Warm-up (file cache, first-spawn costs), not recorded.
  for (const v of variants) for (const fn of Object.values(measure)) await fn(v);
  for (const v of variants) v.warmAudits = new Set(readdirSync(join(v.work, '.rollgate', 'audit')));

  for (let rep = 0; rep < REPS; rep++) {
    for (const v of variants) {
      if (rep >= (v.reps ?? REPS)) continue;
      // Rotate the order each repetition so no measurement always follows the same one.
      const kinds = ['script', 'rollgate', 'startup', 'validate'];
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(k + rep) % kinds.length];
        v.samples[kind].push((await measure[kind](v)).wallMs);
      }
    }
    if (process.stderr.isTTY) process.stderr.write(`  rep ${rep + 1}/${REPS}\r`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');

  // Where the time went, from the audit trails of the runs (ms-resolution timestamps).
  const breakdown = (file) => {
    const events = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const t = (e) => Date.parse(e.time);
    const started = events.find((e) => e.kind === 'run.started');
    const finished = events.find((e) => e.kind === 'run.finished');
    const deploys = events.filter((e) => e.kind === 'step.succeeded' && e.step === 'deploy');
    const runMs = t(finished) - t(started);
    const deployMs = deploys.reduce((a, e) => a + e.durationMs, 0);
    return { runMs, deployMs, gapsMs: runMs - deployMs, steps: deploys.length };
  };

  const summary = [];
  for (const v of variants) {
    const s = Object.fromEntries(Object.entries(v.samples).map(([k, xs]) => [k, median(xs)]));
    const engineMs = s.rollgate - s.startup;
    const r = engineMs / s.script;
    // "Its own start-up" read as everything before the first step: node, modules, and loading and
    // checking the workflow file, which `rollgate validate` does alone.
    const rv = (s.rollgate - s.validate) / s.script;
    const perStep = (engineMs - s.script) / STAGES;
    console.log(`\n## deploy: ${JSON.stringify(v.deploy)}  (script: ${STAGES} x \`${v.scriptLine}\`)`);
    table([
      ['script median', ms(s.script)],
      ['rollgate run median', ms(s.rollgate)],
      ['start-up median (--version)', ms(s.startup)],
      ['validate median (load + parse)', ms(s.validate)],
      ['ratio (rollgate - startup) / script', `${ratio(r, 3)}  (${pct(r - 1)})`],
      ['ratio (rollgate - validate) / script', `${ratio(rv, 3)}  (${pct(rv - 1)}; start-up = load + check the workflow)`],
      ['overhead per stage', `${ms(perStep, 2)}  ((rollgate - startup - script) / ${STAGES})`],
      ['spread rollgate (min..max)', `${ms(Math.min(...v.samples.rollgate))} .. ${ms(Math.max(...v.samples.rollgate))}`],
      ['spread script (min..max)', `${ms(Math.min(...v.samples.script))} .. ${ms(Math.max(...v.samples.script))}`],
    ]);
    if (v.deploy[0] === 'sleep') {
      const verdict = (x) => (x <= TARGET ? `MET (${pct(x - 1)})` : `MISSED (${pct(x - 1)} instead of <= +3%)`);
      console.log(`  target: rollgate within 3% of the script plus its own start-up (ratio <= ${TARGET}): ${verdict(rv)} with start-up = validate; ${verdict(r)} with start-up = --version`);
    } else {
      console.log(`  (the script's own cost is ~${ms(s.script / STAGES, 2)} per command, so the per-stage overhead above is rollgate's absolute cost)`);
    }
    summary.push({ variant: v.name, ...s, ratio: r, ratioValidate: rv, perStageMs: perStep });
  }

  // Breakdown per variant from the audit trails of its recorded runs.
  console.log('\n## where the time goes (medians over the recorded runs of each variant, from their audit trails)');
  for (const v of variants) {
    const dir = join(v.work, '.rollgate', 'audit');
    const bs = readdirSync(dir)
      .filter((f) => !v.warmAudits.has(f))
      .map((f) => breakdown(join(dir, f))).filter((b) => b.steps === STAGES);
    if (bs.length === 0) continue;
    const s = summary.find((x) => x.variant === v.name);
    const runMs = median(bs.map((b) => b.runMs));
    const deployMs = median(bs.map((b) => b.deployMs));
    const gapsMs = median(bs.map((b) => b.gapsMs));
    console.log(`  ${JSON.stringify(v.deploy)}:`);
    table([
      ['  process total (median)', ms(s.rollgate)],
      ['  outside the run (start-up, load, parse, exit)', ms(s.rollgate - runMs)],
      ['  run.started -> run.finished', ms(runMs)],
      ['    deploy steps (spawn + command)', `${ms(deployMs)}  (${ms(deployMs / STAGES, 2)} per command; script: ${ms(s.script / STAGES, 2)})`],
      ['    engine between steps (journal fsyncs, events)', `${ms(gapsMs)}  (${ms(gapsMs / STAGES, 2)} per stage)`],
    ]);
  }

  // In-process: the `true` workflow through runWorkflow, journal on disk (FileRunStore, fsynced
  // like the CLI's) against in memory. No start-up, no module loading, no parsing in these times.
  const lib = await import(pathToFileURL(join(DIST, 'index.js')).href);
  const tv = variants.find((v) => v.deploy[0] === 'true');
  const REPS_LIB = REPS;
  const loaded = await lib.loadWorkflowFile(tv.wf);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  let saves = 0;
  let saveMs = 0;
  const runIn = async (store) => {
    const save = store.save.bind(store);
    store.save = async (journal) => {
      const t = process.hrtime.bigint();
      await save(journal);
      saves += 1;
      saveMs += Number(process.hrtime.bigint() - t) / 1e6;
    };
    const t0 = process.hrtime.bigint();
    const outcome = await lib.runWorkflow({ loaded, store, context: { actor: 'bench', ci: 'local' }, env });
    if (outcome.status !== 'succeeded') throw new Error(`in-process run ended ${outcome.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const cwd = process.cwd();
  process.chdir(tv.work);
  const fileRuns = [];
  const memRuns = [];
  let fileSaves = 0;
  let fileSaveMs = 0;
  try {
    await runIn(new lib.MemoryRunStore()); // warm-up
    for (let rep = 0; rep < REPS; rep++) {
      memRuns.push(await runIn(new lib.MemoryRunStore()));
      saves = 0;
      saveMs = 0;
      fileRuns.push(await runIn(new lib.FileRunStore(join(tmp.dir, `lib-state-${rep}.json`))));
      fileSaves += saves;
      fileSaveMs += saveMs;
    }
  } finally {
    process.chdir(cwd);
  }
  const fileMs = median(fileRuns);
  const memMs = median(memRuns);
  console.log(`\n## in-process (library) runs of the ["true"] workflow: journal on disk vs in memory (${REPS} runs each, medians)`);
  table([
    ['FileRunStore (fsync + rename + dir fsync)', `${ms(fileMs)}  (${ms(fileMs / STAGES, 2)} per stage)`],
    ['MemoryRunStore', `${ms(memMs)}  (${ms(memMs / STAGES, 2)} per stage)`],
    ['ratio file / memory', ratio(fileMs / memMs)],
    ['journal saves per stage', `${(fileSaves / REPS / STAGES).toFixed(1)}, ${ms(fileSaveMs / fileSaves, 2)} each on this disk`],
  ]);
} finally {
  tmp.cleanup();
}
