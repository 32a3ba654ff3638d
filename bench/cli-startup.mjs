// CLI start-up time and memory, as a CI job pays them. Run: node bench/cli-startup.mjs
//
// Time (alternating runs, medians; BENCH_STARTUP_RUNS, default 15):
// - the headline: `rollgate run` of the README's main example (examples/sim-pipeline.yml) from
//   spawn to its first event on stdout (`▶ run … started`), against `node -e 0` (spawn to exit).
//   Target (issue 14): ≤ 1.5× `node -e 0`.
// - `rollgate plan` of the same file, whole process, against `node -e 0`.
// - `rollgate --version`, whole process (what it was first measured by; target 150 ms).
// Memory (BENCH_MEM_RUNS, default 5; the kernel's peak RSS of the process, read at its exit):
// - one `rollgate run` whose stage checks one `http` probe against a local server. Requirement
//   < 100 MB, goal < 60 MB (MB = 10^6 bytes; figures are printed in MiB).
// - `rollgate validate` of the main example, and bare `node -e 0`.
// Then one process importing the CLI's layers one after the other, to show what each costs.
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, DIST, ROOT, header, median, mib, ms, ratio, requireBuild, table, tempDir, verdict } from './lib.mjs';

requireBuild();

const RUNS = Math.max(7, Number(process.env.BENCH_STARTUP_RUNS ?? 15));
const MEM_RUNS = Math.max(3, Number(process.env.BENCH_MEM_RUNS ?? 5));
const node = process.execPath;
const tmp = tempDir('startup');
const cwd = tmp.dir;

// The kernel's peak RSS of the process, printed to stderr at exit by a preloaded module.
const peakAtExit = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\npeak="+process.resourceUsage().maxRSS*1024))';

/** Milliseconds from spawn until `marker` shows on stdout (or until exit without one); the peak RSS when asked. */
function time(args, { marker, peak = false } = {}) {
  return new Promise((done, fail) => {
    const start = process.hrtime.bigint();
    const child = spawn(node, peak ? ['--import', peakAtExit, ...args] : args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let at;
    child.stdout.on('data', (d) => {
      out += d;
      if (at === undefined && marker?.test(out)) at = Number(process.hrtime.bigint() - start) / 1e6;
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) return fail(new Error(`node ${args.join(' ')} exited ${code}\n${err.slice(-1500)}${out.slice(-1500)}`));
      if (marker && at === undefined) return fail(new Error(`no first event in:\n${out}`));
      done({ ms: marker ? at : wall, peak: Number(/peak=(\d+)/.exec(err)?.[1] ?? NaN) });
    });
  });
}

const server = createServer((_req, res) => res.end('{"status":"up"}'));
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const port = server.address().port;

header(`cli-startup: rollgate run / plan / --version vs node -e 0 (${RUNS} alternating runs), peak RSS (${MEM_RUNS} runs)`);
try {
  copyFileSync(join(ROOT, 'examples', 'sim-pipeline.yml'), join(cwd, 'pipeline.yml'));
  writeFileSync(
    join(cwd, 'probe.yml'),
    `version: 1
name: probe
inputs: { version: { default: v2 } }
environments: { staging: {} }
probes:
  api: { type: http, url: "http://127.0.0.1:${port}/health", jsonPath: status }
sim: { services: { web: { version: v1 } }, versions: { v2: { startup: 200ms } } }
stages:
  - name: web
    environment: staging
    preflight: [{ check: 'probes.api.value == "up"' }]
    target: { type: sim, service: web }
    verify: { interval: 100ms }
`,
  );
  let n = 0;
  const first = /▶ run \S+ of \S+ started/;
  const measures = {
    run: () => time([CLI, 'run', 'pipeline.yml', '--state', `state-${n++}.json`], { marker: first }),
    plan: () => time([CLI, 'plan', 'pipeline.yml']),
    version: () => time([CLI, '--version']),
    bare: () => time(['-e', '0']),
  };
  const times = Object.fromEntries(Object.keys(measures).map((k) => [k, []]));
  for (let i = 0; i < RUNS + 2; i++) {
    // The order rotates, so no measure always follows the same one.
    const keys = Object.keys(measures);
    const order = [...keys.slice(i % keys.length), ...keys.slice(0, i % keys.length)];
    for (const k of order) {
      const { ms: t } = await measures[k]();
      if (i >= 2) times[k].push(t); // two warm-up rounds, not recorded
    }
  }
  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));

  const peaks = { probe: [], validate: [], bare: [] };
  for (let i = 0; i < MEM_RUNS; i++) {
    peaks.probe.push((await time([CLI, 'run', 'probe.yml', '--state', `probe-${i}.json`], { peak: true })).peak);
    peaks.validate.push((await time([CLI, 'validate', 'pipeline.yml'], { peak: true })).peak);
    peaks.bare.push((await time(['-e', '0'], { peak: true })).peak);
  }
  const peak = Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, median(v)]));

  console.log('\n## start-up (medians)');
  table([
    ['rollgate run sim-pipeline.yml, spawn to first event', `${ms(med.run)}  ratio ${ratio(med.run / med.bare)} node -e 0  ${verdict(med.run / med.bare <= 1.5, 'target ≤ 1.5×')}`],
    ['rollgate plan sim-pipeline.yml, whole process', `${ms(med.plan)}  ratio ${ratio(med.plan / med.bare)} node -e 0`],
    ['rollgate --version, whole process', `${ms(med.version)}  ratio ${ratio(med.version / med.bare)} node -e 0  ${verdict(med.version < 150, 'target < 150 ms')}`],
    ['node -e 0', ms(med.bare)],
    ["rollgate's own share of run's start-up", ms(med.run - med.bare)],
  ]);

  console.log('\n## peak RSS (kernel maxRSS at exit, medians)');
  table([
    ['rollgate run with one http probe', `${mib(peak.probe)}  ${verdict(peak.probe < 100e6, 'requirement < 100 MB')}  ${verdict(peak.probe < 60e6, 'goal < 60 MB')}`],
    ['rollgate validate sim-pipeline.yml', mib(peak.validate)],
    ['node -e 0', mib(peak.bare)],
  ]);

  // What each layer costs (one process, imported in this order; each line includes the ones above).
  // These use the unbundled tsc output in dist/core, so they show each package's share.
  const url = (rel) => pathToFileURL(join(DIST, rel)).href;
  const steps = [
    ['node (bare)', null],
    ['+ yaml', 'yaml'],
    ['+ zod', 'zod'],
    ['+ @marcbachmann/cel-js + re2js', ['@marcbachmann/cel-js', 're2js']],
    ['+ definition/schema.js (every provider schema)', url('definition/schema.js')],
    ['+ cli/commands.js + definition/load.js', [url('cli/commands.js'), url('definition/load.js')]],
    ['+ engine/executor.js', url('engine/executor.js')],
  ];
  const script = [
    'const out = []; const t0 = performance.now();',
    'const snap = (l) => out.push([l, process.memoryUsage().rss, performance.now() - t0]);',
    ...steps.map(([label, spec]) =>
      spec === null ? `snap(${JSON.stringify(label)});` : `${[spec].flat().map((s) => `await import(${JSON.stringify(s)});`).join(' ')} snap(${JSON.stringify(label)});`,
    ),
    'process.stdout.write(JSON.stringify(out));',
  ].join('\n');
  const layers = await new Promise((done, fail) => {
    const child = spawn(node, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 ? done(JSON.parse(out)) : fail(new Error(`layers exited ${code}`))));
  });
  console.log('\n## where it goes (one process, unbundled modules, imports in this order; RSS and time since the first line)');
  let prev = layers[0][1];
  table(
    layers.map(([label, rss, t]) => {
      const row = [label, `${mib(rss)}  (+${mib(rss - prev)})  at ${ms(t)}`];
      prev = rss;
      return row;
    }),
  );
} finally {
  server.close();
  tmp.cleanup();
}
