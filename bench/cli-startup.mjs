// CLI start-up time and idle memory. Run: node bench/cli-startup.mjs
//
// Time: `rollgate --version` against `node -e 0` (alternating runs, medians). Target: 150 ms.
// Memory: the resident set size of a node process that has imported the CLI's command modules and
// the workflow loader (what every real command loads before it reads the workflow), against a
// bare node process. Target: 60 MB.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { CLI, DIST, ROOT, header, mb, median, ms, pct, ratio, requireBuild, table, tempDir, timeSpawn } from './lib.mjs';

requireBuild();

const RUNS = Math.max(5, Number(process.env.BENCH_STARTUP_RUNS ?? 20));
const MEM_RUNS = Math.max(3, Number(process.env.BENCH_MEM_RUNS ?? 7));
const TARGET_MS = 150;
const TARGET_MB = 60;
const node = process.execPath;
const tmp = tempDir('startup');

const url = (rel) => pathToFileURL(join(DIST, rel)).href;
const printRss = 'process.stdout.write(String(process.memoryUsage().rss))';
// RSS at exit of the real `--version` path, measured from a preloaded module.
const atExit = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nrss="+process.memoryUsage().rss))';

header(`cli-startup: \`rollgate --version\` vs \`node -e 0\` (${RUNS} alternating runs each), idle RSS (${MEM_RUNS} runs each)`);
try {
  const cwd = tmp.dir;
  const timeCli = () => timeSpawn(node, [CLI, '--version'], { cwd });
  const timeBare = () => timeSpawn(node, ['-e', '0'], { cwd });
  for (let i = 0; i < 2; i++) {
    await timeCli(); // warm-up, not recorded
    await timeBare();
  }

  const cli = [];
  const bare = [];
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0) {
      cli.push((await timeCli()).wallMs);
      bare.push((await timeBare()).wallMs);
    } else {
      bare.push((await timeBare()).wallMs);
      cli.push((await timeCli()).wallMs);
    }
  }
  const cliMs = median(cli);
  const bareMs = median(bare);

  const rssOf = async (args) => Number((await timeSpawn(node, args, { cwd })).stdout.trim());
  const rssAtExit = async (args) => Number(/rss=(\d+)/.exec((await timeSpawn(node, args, { cwd })).stderr)?.[1]);
  const idle = [];
  const bareRss = [];
  const versionRss = [];
  for (let i = 0; i < MEM_RUNS; i++) {
    // The shipped CLI, every module loaded (a validate of the main example), measured at exit.
    idle.push(await rssAtExit(['--import', atExit, CLI, 'validate', join(ROOT, 'examples', 'sim-pipeline.yml')]));
    bareRss.push(await rssOf(['-e', printRss]));
    versionRss.push(await rssAtExit(['--import', atExit, CLI, '--version']));
  }
  const idleMb = median(idle) / 1024 / 1024;
  const bareMb = median(bareRss) / 1024 / 1024;

  // Which import costs what (one process, imported in this order; each line includes the ones above).
  // (These layers use the unbundled tsc output in dist/core, so they show each package's share.)
  const steps = [
    ['node (bare)', null],
    ['+ yaml', 'yaml'],
    ['+ zod', 'zod'],
    ['+ @marcbachmann/cel-js', '@marcbachmann/cel-js'],
    ['+ definition/schema.js', url('definition/schema.js')],
    ['+ cli/commands.js + definition/load.js', [url('cli/commands.js'), url('definition/load.js')]],
  ];
  const script = [
    'const out = []; const t0 = performance.now();',
    'const snap = (l) => out.push([l, process.memoryUsage().rss, performance.now() - t0]);',
    ...steps.map(([label, spec]) =>
      spec === null
        ? `snap(${JSON.stringify(label)});`
        : `${[spec].flat().map((s) => `await import(${JSON.stringify(s)});`).join(' ')} snap(${JSON.stringify(label)});`,
    ),
    'process.stdout.write(JSON.stringify(out));',
  ].join('\n');
  // Bare specifiers (yaml, zod, cel-js) must resolve from the package: run that import from dist.
  const { stdout } = await timeSpawn(node, ['--input-type=module', '-e', script], { cwd: ROOT });
  const layers = JSON.parse(stdout);

  console.log('\n## start-up time');
  table([
    ['rollgate --version median', ms(cliMs)],
    ['node -e 0 median', ms(bareMs)],
    ['ratio', `${ratio(cliMs / bareMs)}  (rollgate's own cost: ${ms(cliMs - bareMs)})`],
    ['spread --version (min..max)', `${ms(Math.min(...cli))} .. ${ms(Math.max(...cli))}`],
    [
      `target: --version under ${TARGET_MS} ms`,
      cliMs <= TARGET_MS ? `MET (${ms(cliMs)}, ${pct(cliMs / TARGET_MS - 1)} vs target)` : `MISSED by ${ms(cliMs - TARGET_MS)}`,
    ],
  ]);

  console.log('\n## resident memory at idle start-up');
  table([
    ['bundled CLI after `validate` (all modules loaded, median)', `${idleMb.toFixed(1)} MB`],
    ['bare node -e (median)', `${bareMb.toFixed(1)} MB`],
    ['ratio', `${ratio(idleMb / bareMb)}  (rollgate's own: +${(idleMb - bareMb).toFixed(1)} MB)`],
    ['rollgate --version at exit (median)', `${mb(median(versionRss))}  (${ratio(median(versionRss) / median(bareRss))} of bare node)`],
    [
      `target: idle RSS under ${TARGET_MB} MB`,
      idleMb <= TARGET_MB ? `MET (${pct(idleMb / TARGET_MB - 1)} vs target)` : `MISSED by ${(idleMb - TARGET_MB).toFixed(1)} MB (${pct(idleMb / TARGET_MB - 1)})`,
    ],
  ]);

  console.log('\n## where it goes (one process, imports in this order; RSS and time since the first line)');
  let prev = layers[0][1];
  table(
    layers.map(([label, rss, t]) => {
      const row = [label, `${mb(rss)}  (+${mb(rss - prev)})  at ${ms(t)}`];
      prev = rss;
      return row;
    }),
  );
} finally {
  tmp.cleanup();
}
