// Runs every benchmark in bench/, one after the other, each in its own process (so one's memory
// and warm caches do not colour the next). Run: npm run bench (builds first) or node bench/run-all.mjs
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireBuild } from './lib.mjs';

requireBuild();
const here = dirname(fileURLToPath(import.meta.url));
const benchmarks = ['cli-startup.mjs', 'engine-overhead.mjs', 'concurrent-workflows.mjs', 'strategies.mjs', 'audit-overhead.mjs', 'audit-query.mjs', 'notifications.mjs', 'standalone-startup.mjs', 'action-startup.mjs', 'probe-snapshot.mjs', 'postgres-probes.mjs', 'nginx-blue-green.mjs', 'kubernetes.mjs', 'swarm-update.mjs', 'clouds.mjs'];
const failed = [];
for (const name of benchmarks) {
  const started = Date.now();
  const result = spawnSync(process.execPath, [join(here, name)], { stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) failed.push(name);
  console.log(`\n(${name}: ${result.status === 0 ? 'done' : `FAILED with ${result.status ?? result.signal}`} in ${seconds} s)\n`);
}
if (failed.length > 0) {
  console.error(`bench: ${failed.length} benchmark(s) failed: ${failed.join(', ')}`);
  process.exit(1);
}
