import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoDataError, ProviderError } from '../errors.js';
import { abortingCall, rejection } from '../testing/contracts/kit.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { configSchema, create, QUERY_VARIABLE, type } from './command.js';
import { metricProviders } from './index.js';

/** A metric script: what it prints depends on the query it reads from the environment. */
const SCRIPT = `
const q = process.env.${QUERY_VARIABLE} ?? '';
const out = (text) => process.stdout.write(text);
switch (q) {
  case 'error-rate': out('0.02\\n'); break;
  case 'requests': console.error('querying the load balancer'); out('  1200 \\n'); break;
  case 'empty': break;
  case 'words': out('ok: 5 requests\\n'); break;
  case 'lines': out('starting\\n0.5\\n'); break;
  case 'nan': out('NaN\\n'); break;
  case 'long': out('x'.repeat(5000)); break;
  case 'fail': console.error('step 1\\nstep 2\\nstep 3\\nconnection refused: db:5432'); process.exit(3);
  case 'fail-silent': process.exit(4);
  case 'slow': setTimeout(() => out('1'), 600_000); break;
  default: out(String(q.length));
}
`;

let dir: string;
let script: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-metric-command-'));
  script = join(dir, 'metric.mjs');
  await writeFile(script, SCRIPT);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const metric = (input: Record<string, unknown> = {}) => create(configSchema.parse({ type: 'command', run: [process.execPath, script], ...input }), fakeDeps());
const ctx = () => fakeStepContext();

describe('command metric provider', () => {
  it('is registered, with a default timeout', () => {
    expect(metricProviders.command.type).toBe(type);
    expect(configSchema.parse({ type, run: ['./m.sh'] })).toEqual({ type, run: ['./m.sh'], timeout: 30_000 });
  });

  it('reads the one number the command prints, for the query it gets as a variable', async () => {
    expect(await metric().query('error-rate', ctx())).toBe(0.02);
    expect(await metric().query('requests', ctx())).toBe(1200);
  });

  it('hands the query over as a value, never as shell text', async () => {
    const query = '$(touch /tmp/rollgate-pwned); `id` && echo "x" | cat';
    expect(await metric().query(query, ctx())).toBe(query.length);
  });

  it('empty output is no data', async () => {
    const err = await rejection(metric().query('empty', ctx()));
    expect(err).toBeInstanceOf(NoDataError);
    expect((err as Error).message).toMatch(/^command: `.*metric\.mjs`: no data: it printed nothing on stdout for query 'empty'$/);
  });

  it('anything but one number is an error quoting what it printed, cut', async () => {
    const words = await rejection(metric().query('words', ctx()));
    expect(words).not.toBeInstanceOf(NoDataError);
    expect((words as Error).message).toMatch(/: `.*` printed "ok: 5 requests" for query 'words', not one number; print only the number on stdout, logs on stderr$/);
    expect((await rejection(metric().query('lines', ctx())) as Error).message).toContain('printed "starting\\n0.5"');
    expect((await rejection(metric().query('nan', ctx())) as Error).message).toContain('printed "NaN"');
    const long = (await rejection(metric().query('long', ctx())) as Error).message;
    expect(long).toContain(`printed "${'x'.repeat(117)}..." for query 'long'`);
  });

  it('a failing command is an error with its last lines', async () => {
    const err = await rejection(metric().query('fail', ctx()));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/^command: `.*metric\.mjs` exited with code 3: step 2 \| step 3 \| connection refused: db:5432$/);
    expect((await rejection(metric().query('fail-silent', ctx())) as Error).message).toMatch(/exited with code 4 and printed nothing$/);
  });

  it('stops at its timeout or when the step is cancelled', async () => {
    const slow = await rejection(metric({ timeout: '300ms' }).query('slow', ctx()));
    expect((slow as ProviderError).retryable).toBe(true);
    expect((slow as Error).message).toMatch(/^command: `.*metric\.mjs` timed out after 300ms and printed nothing$/);
    const cancelled = await rejection(metric({ timeout: '10m' }).query('slow', abortingCall().ctx));
    expect((cancelled as ProviderError).retryable).toBe(false);
    expect((cancelled as Error).message).toMatch(/` cancelled and printed nothing$/);
  });

  it('says when the program is not there', async () => {
    const err = await rejection(metric({ run: ['no-such-metric-tool', '--json'] }).query('x', ctx()));
    expect((err as Error).message).toBe("command 'no-such-metric-tool' not found on PATH: install it on the runner or give its full path");
  });
});
