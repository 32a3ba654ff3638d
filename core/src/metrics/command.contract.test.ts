import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeMetricProviderContract } from '../testing/contracts/metric-provider.js';
import { fakeDeps } from '../testing/fakes.js';
import * as command from './command.js';

// A node script as the metric source: it prints a number per query, nothing for the candidate
// (none runs yet), and once fails as when its backend is down while a flag file exists.
describeMetricProviderContract('command', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-metric-contract-'));
  const flag = join(dir, 'down');
  const script = join(dir, 'metric.mjs');
  await writeFile(
    script,
    `import { existsSync, rmSync } from 'node:fs';
const flag = ${JSON.stringify(flag)};
if (existsSync(flag)) { rmSync(flag); console.error('connection refused: metrics backend'); process.exit(2); }
const values = { 'error-rate': '0.013', requests: '420' };
process.stdout.write(values[process.env.${command.QUERY_VARIABLE}] ?? '');
`,
  );
  return {
    deps: (states) => fakeDeps({}, { states }),
    create: (deps) => command.create(command.configSchema.parse({ type: 'command', run: [process.execPath, script] }), deps),
    sampled: ['error-rate', 'requests'],
    noData: ['candidate-error-rate'],
    injectFault: () => writeFileSync(flag, ''),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
