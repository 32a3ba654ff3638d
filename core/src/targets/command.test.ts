import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, DeadlineExceededError, ProviderError, UsageError } from '../errors.js';
import { createRealClock } from '../clocks/real.js';
import type { Change } from '../model/events.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { fakeDeps } from '../testing/fakes.js';
import { createMasker } from '../util/mask.js';
import { configSchema, create, type } from './command.js';

const NODE = process.execPath;
const HOSTILE = `v2; rm -rf / $(touch /tmp/rollgate-pwned) \`id\` "'`;

interface Harness {
  ctx: StepContext;
  changes: Change[];
  lines: Array<{ stream: string; line: string }>;
  infos: string[];
}

let dir: string;
let previousCwd: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-command-target-'));
  // Commands run where rollgate runs; these tests run it inside their own folder.
  previousCwd = process.cwd();
  process.chdir(dir);
});
afterEach(async () => {
  process.chdir(previousCwd);
  await rm(dir, { recursive: true, force: true });
});

function deps(): ProviderDeps {
  return fakeDeps({ environment: 'production', workDir: dir });
}

function harness(options: { signal?: AbortSignal; env?: Record<string, string>; secrets?: string[] } = {}): Harness {
  const changes: Change[] = [];
  const lines: Harness['lines'] = [];
  const infos: string[] = [];
  const mask = createMasker(options.secrets ?? []);
  const ctx: StepContext = {
    runId: 'run-1',
    stage: 'prod',
    step: 'deploy',
    signal: options.signal ?? new AbortController().signal,
    clock: createRealClock(),
    // Like the real Logger: masks before anything reaches a sink.
    log: {
      info: (m) => infos.push(mask(m)),
      warn: (m) => infos.push(mask(m)),
      output: (stream, line) => lines.push({ stream, line: mask(line) }),
    },
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...options.env },
    recordChange: (c) => changes.push(c),
    mask,
    trackProcess: () => () => {},
  };
  return { ctx, changes, lines, infos };
}

/** A command target that keeps its "deployed version" in a file, like a real CLI would. */
function fileTarget(extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    type: 'command',
    current: { run: 'cat state.txt 2>/dev/null || true', shell: true },
    deploy: { run: 'printf %s "$ROLLGATE_VERSION" > state.txt; echo "deployed $ROLLGATE_VERSION (was $ROLLGATE_PREVIOUS_VERSION)"', shell: true },
    health: { run: 'test -s state.txt && echo "ok $(cat state.txt)"', shell: true },
    revert: {
      run: 'if [ -n "$ROLLGATE_PREVIOUS_VERSION" ]; then printf %s "$ROLLGATE_PREVIOUS_VERSION" > state.txt; else rm -f state.txt; fi',
      shell: true,
    },
    ...extra,
  });
}

describe('command target', () => {
  it('exports its type and parses defaults', () => {
    expect(type).toBe('command');
    const config = configSchema.parse({ type: 'command', deploy: ['true'] });
    expect(config.timeout).toBe(600_000);
    expect(config.outputLimit).toBe(1_048_576);
  });

  it('first deploy: current is empty, deploy records the change, health and revert work', async () => {
    const target = create(fileTarget(), deps());
    const h = harness();
    expect(target.type).toBe('command');
    expect(await target.current(h.ctx)).toBeUndefined();

    await target.deploy('1.0.0', h.ctx);
    expect(await readFile(join(dir, 'state.txt'), 'utf8')).toBe('1.0.0');
    expect(h.changes).toEqual([{ object: 'command-target/prod', field: 'version', before: null, after: '1.0.0' }]);
    expect(h.lines).toContainEqual({ stream: 'stdout', line: 'deployed 1.0.0 (was )' });
    expect(await target.current(h.ctx)).toEqual({ version: '1.0.0' });
    expect(await target.health(h.ctx)).toEqual({ healthy: true, ready: 1, total: 1, message: 'health command: ok 1.0.0' });

    await target.deploy('2.0.0', h.ctx);
    expect(h.changes[1]).toEqual({ object: 'command-target/prod', field: 'version', before: '1.0.0', after: '2.0.0' });
    expect(h.lines).toContainEqual({ stream: 'stdout', line: 'deployed 2.0.0 (was 1.0.0)' });

    await target.revert({ version: '1.0.0' }, h.ctx);
    expect(await readFile(join(dir, 'state.txt'), 'utf8')).toBe('1.0.0');
    expect(h.changes[2]).toEqual({ object: 'command-target/prod', field: 'version', before: '2.0.0', after: '1.0.0' });

    await target.revert(undefined, h.ctx);
    expect(await target.current(h.ctx)).toBeUndefined();
    expect(h.changes[3]).toEqual({ object: 'command-target/prod', field: 'version', before: '1.0.0', after: null });
    expect((await target.health(h.ctx)).healthy).toBe(false);
  });

  it('re-deploying the running version runs the command but records no change', async () => {
    const target = create(fileTarget(), deps());
    const h = harness();
    await target.deploy('1.0.0', h.ctx);
    await target.deploy('1.0.0', h.ctx);
    expect(h.changes).toHaveLength(1);
    expect(h.lines.filter((l) => l.line.startsWith('deployed 1.0.0'))).toHaveLength(2);
  });

  it('hands every command ROLLGATE_* values, with hostile values reaching it verbatim', async () => {
    const printEnv = new URL('../../../tests/fixtures/bin/print-env.mjs', import.meta.url).pathname;
    const dump = [NODE, printEnv, 'ROLLGATE_VERSION', 'ROLLGATE_PREVIOUS_VERSION', 'ROLLGATE_STAGE', 'ROLLGATE_ENVIRONMENT', 'EXTRA'];
    const target = create(configSchema.parse({ type: 'command', deploy: dump, health: dump, revert: dump }), deps());
    const h = harness({ env: { EXTRA: 'from-ctx', ROLLGATE_PREVIOUS_VERSION: 'v1' } });
    await target.deploy(HOSTILE, h.ctx);
    expect(JSON.parse(h.lines[0]!.line)).toEqual({ ROLLGATE_VERSION: HOSTILE, ROLLGATE_PREVIOUS_VERSION: 'v1', ROLLGATE_STAGE: 'prod', ROLLGATE_ENVIRONMENT: 'production', EXTRA: 'from-ctx' });
    expect(h.changes).toEqual([{ object: 'command-target/prod', field: 'version', before: 'v1', after: HOSTILE }]);

    await target.health(h.ctx);
    expect(JSON.parse(h.lines[1]!.line)).toMatchObject({ ROLLGATE_VERSION: HOSTILE, ROLLGATE_PREVIOUS_VERSION: 'v1' });

    await target.revert({ version: 'v1' }, h.ctx);
    // A revert removes ROLLGATE_VERSION and puts ROLLGATE_PREVIOUS_VERSION back.
    expect(JSON.parse(h.lines[2]!.line)).toMatchObject({ ROLLGATE_VERSION: HOSTILE, ROLLGATE_PREVIOUS_VERSION: 'v1' });
    expect(h.changes[1]).toEqual({ object: 'command-target/prod', field: 'version', before: HOSTILE, after: 'v1' });

    await target.revert(undefined, h.ctx);
    expect(JSON.parse(h.lines[3]!.line)).toMatchObject({ ROLLGATE_VERSION: 'v1', ROLLGATE_PREVIOUS_VERSION: '' });
  });

  it('without a current command, the previous version is the one last deployed', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: ['true'] }), deps());
    const h = harness();
    expect(await target.current(h.ctx)).toBeUndefined();
    await target.deploy('a', h.ctx);
    await target.deploy('b', h.ctx);
    expect(h.changes.map((c) => [c.before, c.after])).toEqual([
      [null, 'a'],
      ['a', 'b'],
    ]);
  });

  it('a failing deploy throws ProviderError with the exit code and the last stderr lines', async () => {
    const script = 'for i in 1 2 3 4 5 6 7; do echo "err $i" >&2; done; echo out; exit 4';
    const target = create(configSchema.parse({ type: 'command', deploy: { run: script, shell: true } }), deps());
    const h = harness();
    const err = await target.deploy('9.9.9', h.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryable).toBe(false);
    const message = (err as Error).message;
    expect(message).toContain('deploy command of stage prod exited with code 4');
    expect(message).toContain('err 7');
    expect(message).toContain('err 3');
    expect(message).not.toContain('err 2');
    expect(h.changes).toEqual([]);
  });

  it('quotes stdout when a failing command wrote no stderr', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: { run: 'echo only-stdout; exit 1', shell: true } }), deps());
    await expect(target.deploy('1', harness().ctx)).rejects.toThrow(/exited with code 1:\n {4}only-stdout/);
  });

  it('masks secrets in streamed output (through the logger) and never in argv', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: { run: 'echo "using $API_TOKEN"', shell: true } }), deps());
    const h = harness({ env: { API_TOKEN: 'tok-12345-secret' }, secrets: ['tok-12345-secret'] });
    await target.deploy('1', h.ctx);
    expect(h.lines).toEqual([{ stream: 'stdout', line: 'using ***' }]);
  });

  it('a failing current command is a ProviderError', async () => {
    const target = create(configSchema.parse({ type: 'command', current: { run: 'echo nope >&2; exit 2', shell: true }, deploy: ['true'] }), deps());
    await expect(target.current(harness().ctx)).rejects.toThrow(/current command of stage prod exited with code 2:\n {4}nope/);
  });

  it('health: without a command it is healthy; a failing command is unhealthy with its reason', async () => {
    const none = create(configSchema.parse({ type: 'command', deploy: ['true'] }), deps());
    expect(await none.health(harness().ctx)).toEqual({ healthy: true, ready: 1, total: 1, message: 'no health command configured' });

    const bad = create(configSchema.parse({ type: 'command', deploy: ['true'], health: { run: 'echo "503 from /healthz" >&2; exit 1', shell: true } }), deps());
    expect(await bad.health(harness().ctx)).toEqual({ healthy: false, ready: 1, total: 1, message: 'health command exited with code 1: 503 from /healthz' });

    const quiet = create(configSchema.parse({ type: 'command', deploy: ['true'], health: ['true'] }), deps());
    expect(await quiet.health(harness().ctx)).toMatchObject({ healthy: true, message: 'health command exited 0' });

    const silentFail = create(configSchema.parse({ type: 'command', deploy: ['true'], health: ['false'] }), deps());
    expect(await silentFail.health(harness().ctx)).toMatchObject({ healthy: false, message: 'health command exited with code 1' });
  });

  it('health: a command that hangs is unhealthy after its timeout', async () => {
    const target = create(
      configSchema.parse({ type: 'command', deploy: ['true'], health: { run: ['sleep', '30'], timeout: '200ms' } }),
      deps(),
    );
    const report = await target.health(harness().ctx);
    expect(report).toMatchObject({ healthy: false, message: 'health command timed out after 200ms' });
  });

  it('missing revert command: says what to put back by hand', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: ['true'] }), deps());
    const h = harness();
    await expect(target.revert({ version: '1.4.2' }, h.ctx)).rejects.toThrow(
      'no revert command configured for stage prod: put back version 1.4.2 by hand',
    );
    await target.deploy('2.0.0', h.ctx);
    const err = await target.revert(undefined, h.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toContain('remove what the first deploy of 2.0.0 created by hand');
  });

  it('a failing revert says what is left', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: ['true'], revert: ['false'] }), deps());
    await expect(target.revert({ version: '1.0.0' }, harness().ctx)).rejects.toThrow(/revert command of stage prod exited with code 1\nVersion 1.0.0 was not put back/);
    await expect(target.revert(undefined, harness().ctx)).rejects.toThrow(/first deploy was not removed/);
  });

  it('a missing program is a clear ProviderError', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: ['kubectl-rollgate-missing', 'apply'] }), deps());
    await expect(target.deploy('1', harness().ctx)).rejects.toThrow(
      "deploy command of stage prod cannot run: command 'kubectl-rollgate-missing' not found on PATH",
    );
  });

  it('script text without shell: true is a usage error', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: { run: 'kubectl apply -f x' } }), deps());
    await expect(target.deploy('1', harness().ctx)).rejects.toThrow(UsageError);
  });

  it('cwd is relative to the workflow folder', async () => {
    await mkdir(join(dir, 'app'));
    await writeFile(join(dir, 'app', 'VERSION'), '3.1.4\n');
    process.chdir(tmpdir());
    const target = create(configSchema.parse({ type: 'command', current: { run: ['cat', 'VERSION'], cwd: 'app' }, deploy: ['true'] }), deps());
    expect(await target.current(harness().ctx)).toEqual({ version: '3.1.4' });
  });

  it('a deploy that hangs is killed after the target timeout', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: ['sleep', '30'], timeout: '300ms' }), deps());
    await expect(target.deploy('1', harness().ctx)).rejects.toThrow('deploy command of stage prod timed out after 300ms');
  });

  it('cancellation rethrows the signal reason, or CancelledError', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: ['sleep', '30'] }), deps());
    const controller = new AbortController();
    setTimeout(() => controller.abort(new DeadlineExceededError('stage prod passed its 1s deadline')), 100);
    await expect(target.deploy('1', harness({ signal: controller.signal }).ctx)).rejects.toThrow(DeadlineExceededError);

    const plain = new AbortController();
    setTimeout(() => plain.abort('stop'), 100);
    await expect(target.deploy('1', harness({ signal: plain.signal }).ctx)).rejects.toThrow(CancelledError);
  });
});

describe('retryOn', () => {
  it('marks the listed exit codes and timeouts as retryable, nothing else', async () => {
    const target = create(configSchema.parse({ type: 'command', deploy: ['sh', '-c', 'exit 75'], retryOn: { exitCodes: [75] } }), deps());
    await expect(target.deploy('1', harness().ctx)).rejects.toMatchObject({ retryable: true });
    const other = create(configSchema.parse({ type: 'command', deploy: ['sh', '-c', 'exit 1'], retryOn: { exitCodes: [75] } }), deps());
    await expect(other.deploy('1', harness().ctx)).rejects.toMatchObject({ retryable: false });
    const slow = create(configSchema.parse({ type: 'command', deploy: ['sleep', '5'], timeout: '100ms', retryOn: { timeout: true } }), deps());
    await expect(slow.deploy('1', harness().ctx)).rejects.toMatchObject({ retryable: true });
  });
});
