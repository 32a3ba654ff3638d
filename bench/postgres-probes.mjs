// PostgreSQL probes in one snapshot: 1 and 20 `postgres` probes of one database (SCRAM login,
// then a read-only query), against a real PostgreSQL started in a temp dir, many rounds. Run:
// node bench/postgres-probes.mjs (after npm run build; needs Debian's `postgresql` package).
//
// Sessions are kept between checks (core/src/probes/postgres/pool.ts): the first snapshot logs in
// (at most four sessions per server and role), the later ones reuse them; both are printed.
// Baseline, alternating with the snapshots: the same logins and queries made by `psql` processes
// in parallel (what a hand-written gate script would run), and one login alone.
// Figures: the snapshot of 20 at p50/p99 against the p99 < 250 ms for a snapshot, and the
// ratio to 20 psql processes. BENCH_ROUNDS sets the rounds (default 40).
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { DIST, header, median, ms, percentile, ratio, requireBuild, ROOT, table, tempDir } from './lib.mjs';

requireBuild();
const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
const { takeSnapshot } = await imp('engine/snapshot.js');
const { probes } = await imp('probes/index.js');
const { fakeDeps, fakeStepContext } = await imp('testing/fakes.js');

const ROUNDS = Math.max(10, Math.min(500, Number(process.env.BENCH_ROUNDS ?? 40)));
const TARGET_P99_MS = 250;
const tmp = tempDir('postgres-probes');

// The tests' PostgreSQL harness (tests/real/servers/postgres.ts), compiled for this script.
const harness = join(tmp.dir, 'postgres-harness.mjs');
const compiled = await build({ entryPoints: [join(ROOT, 'tests/real/servers/postgres.ts')], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'error' });
writeFileSync(harness, compiled.outputFiles[0].text);
const { startPostgres, postgresBinDir } = await import(pathToFileURL(harness).href);

header(`postgres-probes: ${ROUNDS} rounds of snapshots of 1 and 20 postgres probes (SCRAM, read-only query) vs psql`);
const server = await startPostgres();
const role = server.roles.scram;
const QUERY = 'select count(*) from pg_catalog.pg_class';
const env = { PATH: process.env.PATH, PG_PASSWORD: role.password };
const config = (name) => [name, { type: 'postgres', host: server.host, port: server.port, database: server.database, user: role.name, passwordEnv: 'PG_PASSWORD', query: QUERY }];

function made(count) {
  const deps = fakeDeps({ secret: (n) => env[n] });
  return Array.from({ length: count }, (_, i) => config(`db${i}`)).map(([name, raw]) => {
    const module = probes.postgres;
    const parsed = module.configSchema.parse(raw);
    return { name, probe: module.create(parsed, deps), timeoutMs: parsed.timeout };
  });
}

async function snapshot(list) {
  const { signal } = new AbortController();
  setMaxListeners(0, signal);
  const started = performance.now();
  const result = await takeSnapshot(list, fakeStepContext({ step: 'probes', signal }));
  const failed = Object.entries(result).filter(([, r]) => !r.ok);
  if (failed.length > 0) throw new Error(`probes failed: ${JSON.stringify(failed)}`);
  return performance.now() - started;
}

const PSQL = join(postgresBinDir(), 'psql');
const psql = () =>
  new Promise((resolve, reject) => {
    const child = spawn(PSQL, ['-X', '-q', '-A', '-t', '-h', server.host, '-p', String(server.port), '-U', role.name, '-d', server.database, '-c', QUERY], {
      env: { PATH: env.PATH, PGPASSWORD: role.password },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited ${code}: ${err}`))));
  });
const psqlAll = async (count) => {
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, psql));
  return performance.now() - started;
};

try {
  const one = made(1);
  const twenty = made(20);
  // The first snapshot finds no kept session: four logins, the other sixteen probes wait for them.
  const cold = await snapshot(twenty);
  for (let i = 0; i < 3; i++) await Promise.all([snapshot(one), snapshot(twenty), psqlAll(20)]);
  const s = { one: [], twenty: [], psqlOne: [], psqlTwenty: [] };
  for (let i = 0; i < ROUNDS; i++) {
    s.one.push(await snapshot(one));
    s.psqlOne.push(await psqlAll(1));
    s.twenty.push(await snapshot(twenty));
    s.psqlTwenty.push(await psqlAll(20));
  }
  const p = (k, q) => percentile(s[k], q);
  table([
    ['1 probe: snapshot p50 / p99', `${ms(p('one', 50))} / ${ms(p('one', 99))}`],
    ['1 psql: p50 / p99', `${ms(p('psqlOne', 50))} / ${ms(p('psqlOne', 99))}`],
    ['20 probes: snapshot p50 / p99 / max', `${ms(p('twenty', 50))} / ${ms(p('twenty', 99))} / ${ms(Math.max(...s.twenty))}  (target p99 < ${TARGET_P99_MS} ms: ${p('twenty', 99) < TARGET_P99_MS ? 'met' : 'NOT met'})`],
    ['20 probes, first snapshot (no kept session)', ms(cold)],
    ['20 psql at once: p50 / p99', `${ms(p('psqlTwenty', 50))} / ${ms(p('psqlTwenty', 99))}`],
    ['20 probes / 20 psql, ratio of medians', ratio(median(s.twenty) / median(s.psqlTwenty))],
  ]);
} finally {
  await server.stop();
  tmp.cleanup();
}
