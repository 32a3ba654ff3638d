import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadWorkflowFile, type LoadedWorkflow } from '../../core/src/definition/load.js';
import { AUDIT_DIR, changeLine, changes, first, load, ofKind, run, savedService, stage } from './support.js';

/*
 * The strategy examples run as the README shows them: each succeeds on the simulated
 * infrastructure, and the failing variant named in its header comment ("See it fail: …") rolls back.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLES = join(ROOT, 'examples');
const CLI = join(ROOT, 'dist/cli/main.js');
const NAMES = ['canary', 'blue-green', 'progressive', 'auto'] as const;

/** Loads an example with its audit trail sent to a temporary folder (not the working directory). */
async function example(name: string): Promise<LoadedWorkflow> {
  const loaded = await loadWorkflowFile(join(EXAMPLES, `${name}.yml`));
  loaded.workflow.audit.sinks = [{ type: 'file', dir: AUDIT_DIR, bestEffort: false }];
  return loaded;
}

/** The `--input NAME=VALUE` pairs of the header's "See it fail:" line. */
async function failingInputs(name: string): Promise<Record<string, string>> {
  const text = await readFile(join(EXAMPLES, `${name}.yml`), 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('# See it fail: '));
  if (!line) throw new Error(`examples/${name}.yml has no "# See it fail:" line`);
  expect(line).toContain(`rollgate run examples/${name}.yml`);
  const inputs: Record<string, string> = {};
  for (const m of line.matchAll(/--input (\w+)=(\S+)/g)) inputs[m[1] as string] = m[2] as string;
  expect(Object.keys(inputs).length).toBeGreaterThan(0);
  return inputs;
}

describe.each(NAMES)('examples/%s.yml', (name) => {
  it('has a header comment saying what it shows and how to see it fail', async () => {
    const text = await readFile(join(EXAMPLES, `${name}.yml`), 'utf8');
    const header = text.split('\n').filter((l) => l.startsWith('#'));
    expect(header.length).toBeGreaterThanOrEqual(4);
    await failingInputs(name);
  });

  it('succeeds on the simulated infrastructure (exit 0)', async () => {
    const { outcome, events } = await run(await example(name));
    expect(outcome.status, JSON.stringify(outcome.journal.stages)).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
    expect(ofKind(events, 'rollback.started')).toEqual([]);
    expect(ofKind(events, 'infra.changed').length).toBeGreaterThan(0);
  });

  it('rolls back in the failing variant of its header (exit 1)', async () => {
    const { outcome, events } = await run(await example(name), { inputs: await failingInputs(name) });
    expect(outcome.status, JSON.stringify(outcome.journal.stages)).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(first(events, 'rollback.finished').complete).toBe(true);
    const service = name === 'progressive' ? 'api' : 'web';
    expect(savedService(outcome.journal, service)).toMatchObject({ version: 'v1' });
    expect(savedService(outcome.journal, service)?.candidate).toBeUndefined();
  });
});

describe('what each example shows', () => {
  it('canary: steps through 10% under analysis; v3 is caught by the canary analysis at 10%', async () => {
    const good = await run(await example('canary'));
    expect(ofKind(good.events, 'weight.changed').map((e) => e.to)).toEqual([10, 30, 60]);
    const bad = await run(await example('canary'), { inputs: { version: 'v3' } });
    expect(first(bad.events, 'step.failed').step).toBe('analysis@2');
    expect(changes(bad.events).map(changeLine)).toContain('route/web.weight: 10 -> 0');
  });

  it('blue-green: v3 is switched to, fails post-promotion analysis and traffic goes back to blue', async () => {
    const bad = await run(await example('blue-green'), { inputs: { version: 'v3' } });
    expect(first(bad.events, 'decision.made').decision).toBe('pre-flight passed');
    expect(first(bad.events, 'step.failed').step).toBe('post-promotion-analysis');
    expect(changes(bad.events).map(changeLine)).toContain('route/web.weight: 100 -> 0');
  });

  it('progressive: v3 fails two nodes, over the budget of one; only those changed are reverted', async () => {
    const bad = await run(await example('progressive'), { inputs: { version: 'v3' } });
    expect(first(bad.events, 'step.failed').error).toMatch(/^failure budget exceeded: 2 unit\(s\) failed, budget 1/);
    const started = first(bad.events, 'rollback.started');
    const forward = changes(bad.events.filter((e) => e.seq < started.seq)).map((c) => c.object);
    const back = changes(bad.events.filter((e) => e.seq > started.seq)).map((c) => c.object);
    expect(back.sort()).toEqual(forward.sort());
    expect(forward.length).toBeLessThan(20);
  });

  it('auto: chooses blue-green from the free capacity, with the probe value as evidence', async () => {
    const good = await run(await example('auto'));
    expect(first(good.events, 'decision.made')).toMatchObject({
      decision: 'strategy blue-green',
      evidence: { probes: { capacity: { value: 13 } } },
    });
  });
});

/** The CLI as a user runs it; needs `npm run build` (npm test builds first): without it, this fails. */
describe('the examples through the built CLI', () => {
  it('finds the built CLI (run npm run build first)', () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build (npm test builds first)`).toBe(true);
  });

  const cli = (args: string[], cwd: string) =>
    new Promise<number | null>((done) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' }, stdio: 'ignore' });
      child.on('close', done);
    });

  it.each(NAMES)('rollgate run examples/%s.yml exits 0, and 1 with the failing variant', async (name) => {
    const cwd = await mkdtemp(join(tmpdir(), 'rollgate-example-'));
    const file = join(EXAMPLES, `${name}.yml`);
    expect(await cli(['run', file, '--state', join(cwd, 'ok.json')], cwd)).toBe(0);
    const inputs = Object.entries(await failingInputs(name)).flatMap(([k, v]) => ['--input', `${k}=${v}`]);
    expect(await cli(['run', file, '--state', join(cwd, 'bad.json'), ...inputs], cwd)).toBe(1);
  });
});

describe('README: strategies and failure scenarios', () => {
  const section = async (title: string) => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf(`\n## ${title}\n`);
    expect(start, `README has no "## ${title}" section`).toBeGreaterThan(0);
    const end = readme.indexOf('\n## ', start + 1);
    return readme.slice(start, end);
  };

  it('every YAML snippet of "## Strategies" is a valid stage fragment', async () => {
    const snippets = [...(await section('Strategies')).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(snippets).toHaveLength(4);
    for (const snippet of snippets) {
      const fragment = parse(snippet) as Record<string, unknown>;
      const metric = { name: 'm', query: 'candidate-error-rate', successCondition: 'result < 0.01' };
      expect(() =>
        load({
          sim: { services: { web: { version: 'v1' } } },
          probes: { capacity: { type: 'sim', measure: 'free-capacity' } },
          analyses: { 'canary-errors': { metrics: [metric] }, 'error-rate': { metrics: [{ ...metric, query: 'error-rate' }] } },
          stages: [stage('web', fragment)],
        }),
      ).not.toThrow();
    }
  });

  it('every row of "## Failure scenarios" names a test file that exists', async () => {
    const rows = (await section('Failure scenarios')).split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| scenario') && !l.startsWith('| ---'));
    expect(rows.length).toBeGreaterThanOrEqual(13);
    for (const row of rows) {
      const file = /`([\w-]+\.test\.ts)` \|$/.exec(row)?.[1];
      expect(file, row).toBeDefined();
      expect(existsSync(join(ROOT, 'tests/scenarios', file as string)), `${file} does not exist`).toBe(true);
    }
  });
});

/* The examples for your own hosts need real servers to run; they must at least be valid as shipped. */
describe('examples/hosts', () => {
  const HOSTS = ['canary-nginx-prometheus', 'blue-green-haproxy', 'progressive-hosts-file', 'migration-wait-postgres'];
  it.each(HOSTS)('examples/hosts/%s.yml is a valid workflow', async (name) => {
    const loaded = await loadWorkflowFile(join(EXAMPLES, 'hosts', `${name}.yml`));
    expect(loaded.warnings).toEqual([]);
    expect(loaded.workflow.stages.length).toBeGreaterThan(0);
  });
});
