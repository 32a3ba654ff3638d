// Audit query over a year of trails: 1,000,000 sealed entries in 2,000 run files, queried with a
// selective filter through the library's streaming `queryTrail`, against a plain readline line
// count over the same files. Run: node bench/audit-query.mjs   (needs a build)
//
// ratio = query / line count, medians of alternating runs. Peak RSS is the figure with a target:
// 100 MB for the shipped CLI (`rollgate audit query`, a process of its own, kernel maxRSS),
// whatever the size of the trails, since the query holds one line at a time; against the same
// figure for a process that only counts the lines.
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CLI, DIST, header, mb, median, ms, ratio, requireBuild, table, tempDir, timeSpawn } from './lib.mjs';

requireBuild();

const ENTRIES = Math.max(10_000, Number(process.env.BENCH_AUDIT_ENTRIES ?? 1_000_000));
const PER_RUN = 500;
const RUNS = Math.ceil(ENTRIES / PER_RUN);
const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 3));
const TARGET_RSS = 100 * 1024 * 1024;
const FILTER = { kind: 'rollback.*', env: 'production' };

const audit = (name) => import(pathToFileURL(join(DIST, 'audit', `${name}.js`)).href);

/**
 * Writes the trails, in a child process so that its memory does not count against the query's.
 * One run in 20 rolls back in production (8 rollback entries of its 500): the filter picks 0.08%.
 */
async function generate(dir) {
  const { seal } = await audit('chain');
  const ci = { platform: 'github', repository: 'acme/web', runUrl: 'https://github.com/acme/web/actions/runs/1', commit: '4f1c2e9d0b7a', ref: 'refs/heads/main' };
  const yearStart = Date.UTC(2026, 0, 1);
  for (let r = 0; r < RUNS; r++) {
    const start = yearStart + Math.floor((r * 365 * 86_400_000) / RUNS);
    const runId = `web-${new Date(start).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}-${r.toString(16).padStart(6, '0')}`;
    const env = r % 2 ? 'production' : 'staging';
    const rollsBack = r % 20 === 1;
    const lines = [];
    let head = { seq: 0, hash: null };
    for (let i = 0; i < PER_RUN; i++) {
      const kind = rollsBack && i >= PER_RUN - 8 ? ['rollback.started', 'rollback.step', 'rollback.finished'][i % 3] : ['step.started', 'step.output', 'step.succeeded', 'probes.measured'][i % 4];
      const entry = {
        format: 'rollgate/audit@1',
        ts: new Date(start + i * 1000).toISOString(),
        runId,
        eventSeq: i + 1,
        workflow: 'web',
        environment: env,
        stage: `web-${env}`,
        step: 'deploy',
        actor: `dev${r % 7}`,
        ci,
        kind,
        outcome: kind === 'step.succeeded' ? 'succeeded' : 'info',
        message: `web-${env}/deploy | ${kind} ${i}: rolling pods 3/5 ready, p99 latency 182 ms, error rate 0.2%`,
        changes: [],
      };
      const sealed = seal(entry, head);
      head = { seq: sealed.seq, hash: sealed.hash };
      lines.push(JSON.stringify(sealed));
    }
    const month = join(dir, new Date(start).toISOString().slice(0, 7));
    mkdirSync(month, { recursive: true });
    writeFileSync(join(month, `${runId}.jsonl`), `${lines.join('\n')}\n`);
  }
}

if (process.argv[2] === '--generate') {
  await generate(process.argv[3]);
  process.exit(0);
}

async function filesBelow(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath ?? e.path, e.name));
  return out.sort();
}

/** The baseline: what reading the lines costs, with nothing done to them. */
async function countLines(files) {
  let n = 0;
  for (const f of files) for await (const _ of createInterface({ input: createReadStream(f), crlfDelay: Infinity })) n += 1;
  return n;
}

/** Samples RSS every 10 ms (late when the loop is busy; maxRSS from the kernel covers the gaps). */
function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss);
  };
}

const timed = async (fn) => {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
};

// The CLI's own peak: kernel maxRSS of a fresh process, read at exit through a preloaded module.
const atExit = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nmaxrss="+process.resourceUsage().maxRSS*1024))';
const countScript = `import{createReadStream as c}from'node:fs';import{readdir as r}from'node:fs/promises';import{join as j}from'node:path';import{createInterface as i}from'node:readline';
const fs=(await r(process.argv[1],{withFileTypes:true,recursive:true})).filter((e)=>e.isFile()).map((e)=>j(e.parentPath??e.path,e.name)).sort();
let n=0;for(const f of fs)for await(const _ of i({input:c(f),crlfDelay:Infinity}))n++;console.log(n)`;
const maxRssOf = async (args) => Number(/maxrss=(\d+)/.exec((await timeSpawn(process.execPath, ['--import', atExit, ...args])).stderr)?.[1]);

header(`audit-query: ${ENTRIES.toLocaleString('en')} entries in ${RUNS} run files, queryTrail ${JSON.stringify(FILTER)} vs a readline line count (${REPS} alternating runs, medians)`);
const tmp = tempDir('audit');
try {
  const { queryTrail } = await audit('query');
  const gen = await timed(() => timeSpawn(process.execPath, [fileURLToPath(import.meta.url), '--generate', tmp.dir]));
  const files = await filesBelow(tmp.dir);
  const bytes = (await Promise.all(files.map((f) => stat(f)))).reduce((s, st) => s + st.size, 0);

  const samples = { baseline: [], query: [] };
  let result;
  let lineCount = 0;
  let peakRss = 0;
  const rssStart = process.memoryUsage().rss;
  await countLines(files.slice(0, 50)); // warm-up: module code and the first reads, not recorded
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 ? ['query', 'baseline'] : ['baseline', 'query'];
    for (const kind of order) {
      if (kind === 'baseline') {
        const t = await timed(() => countLines(files));
        samples.baseline.push(t.ms);
        lineCount = t.value;
      } else {
        const stop = rssSampler();
        let matched = 0;
        const t = await timed(() => queryTrail([tmp.dir], FILTER, () => void (matched += 1)));
        peakRss = Math.max(peakRss, stop());
        samples.query.push(t.ms);
        result = { ...t.value, counted: matched };
      }
    }
  }
  if (lineCount !== ENTRIES || result.scanned !== ENTRIES || result.counted !== result.matched) {
    throw new Error(`counts disagree: ${lineCount} lines, ${result.scanned} scanned, ${result.matched} matched, ${result.counted} delivered`);
  }
  // The shipped CLI, one run, in a process of its own (its output, the matches, is discarded).
  const cliArgs = [CLI, 'audit', 'query', tmp.dir, '--kind', FILTER.kind, '--env', FILTER.env, '--format', 'json'];
  const cliRss = await maxRssOf(cliArgs);
  const countRss = await maxRssOf(['--input-type=module', '-e', countScript, tmp.dir]);
  const base = median(samples.baseline);
  const query = median(samples.query);
  table([
    ['trails written (child process)', `${files.length} files, ${mb(bytes)}, ${ms(gen.ms, 0)} (sealing included)`],
    ['readline line count (baseline)', `${ms(base, 0)}  (${Math.round(ENTRIES / (base / 1000)).toLocaleString('en')} lines/s)`],
    ['queryTrail, selective filter', `${ms(query, 0)}  (${Math.round(ENTRIES / (query / 1000)).toLocaleString('en')} entries/s), ${result.matched} matched (${((result.matched / ENTRIES) * 100).toFixed(2)}%)`],
    ['ratio query / baseline', ratio(query / base)],
    ['peak RSS, `rollgate audit query` process', `${mb(cliRss)}  (target < ${mb(TARGET_RSS)}: ${cliRss < TARGET_RSS ? 'met' : 'MISSED'})`],
    ['peak RSS, line-count process (baseline)', `${mb(countRss)}  (ratio ${ratio(cliRss / countRss)})`],
    ['peak RSS in this process while querying', `${mb(peakRss)} sampled, from ${mb(rssStart)} before (includes the bench itself)`],
  ]);
} finally {
  tmp.cleanup();
}
