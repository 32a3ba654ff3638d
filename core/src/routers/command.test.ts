import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import { routers } from './index.js';
import { configSchema, create, parseSplit, type } from './command.js';

const NODE = process.execPath;
const PRINT_ENV = new URL('../../../tests/fixtures/bin/print-env.mjs', import.meta.url).pathname;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-command-router-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A "load balancer" that keeps the canary weight in split.txt (no file: 0), driven by shell commands. */
const sh = (run: string) => ({ run, shell: true, cwd: '.' });
const fileRouter = (extra: Record<string, unknown> = {}) =>
  configSchema.parse({
    type: 'command',
    set: sh('printf %s "$ROLLGATE_CANARY_WEIGHT" > split.txt; echo "$ROLLGATE_CANARY_WEIGHT/$ROLLGATE_STABLE_WEIGHT" >> calls.txt'),
    get: sh('cat split.txt 2>/dev/null || echo 0'),
    ...extra,
  });

function setup(config = fileRouter(), states = new MemoryProviderStates()) {
  const changes: Change[] = [];
  const deps = fakeDeps({ workDir: dir, environment: 'production' }, { states });
  const ctx = (signal?: AbortSignal) => fakeStepContext({ stage: 'web', changes, ...(signal ? { signal } : {}) });
  return { router: create(config, deps), ctx, changes, states };
}

const calls = () => readFile(join(dir, 'calls.txt'), 'utf8').then((t) => t.trim().split('\n'), () => []);

describe('command router', () => {
  it('is registered and parses its config strictly, with defaults', () => {
    expect(routers.command.type).toBe(type);
    const config = configSchema.parse({ type: 'command', set: ['lb', 'set'], get: ['lb', 'get'] });
    expect(config).toMatchObject({ timeout: 120_000, outputLimit: 1_048_576, retryOn: { exitCodes: [], timeout: false } });
    expect(() => configSchema.parse({ type: 'command', set: ['lb'], get: ['lb'], extra: 1 })).toThrow();
    expect(() => configSchema.parse({ type: 'command', set: ['lb'] })).toThrow();
  });

  it('sets the split with the weights in environment variables, never in argv, and records each change', async () => {
    const config = fileRouter({ set: [NODE, PRINT_ENV, 'ROLLGATE_CANARY_WEIGHT', 'ROLLGATE_STABLE_WEIGHT', 'ROLLGATE_STAGE', 'ROLLGATE_ENVIRONMENT'] });
    const lines: string[] = [];
    const { router, changes } = setup(config);
    const ctx = fakeStepContext({ stage: 'web', changes, log: { info() {}, warn() {}, output: (_s, line) => lines.push(line) } });
    await router.setWeights({ canary: 12.5 }, ctx);
    expect(JSON.parse(lines.find((l) => l.startsWith('{')) as string)).toEqual({ ROLLGATE_CANARY_WEIGHT: '12.5', ROLLGATE_STABLE_WEIGHT: '87.5', ROLLGATE_STAGE: 'web', ROLLGATE_ENVIRONMENT: 'production' });
    expect(changes).toEqual([{ object: 'command-router/web', field: 'weight', before: 0, after: 12.5 }]);
  });

  it('does not run set when get already reports the weight', async () => {
    const { router, ctx, changes, states } = setup();
    await router.setWeights({ canary: 0 }, ctx());
    expect(await calls()).toEqual([]);
    expect(changes).toEqual([]);
    expect(states.puts).toBe(0);
    await router.setWeights({ canary: 30 }, ctx());
    await router.setWeights({ canary: 30 }, ctx());
    expect(await calls()).toEqual(['30/70']);
    expect(await router.getWeights(ctx())).toEqual({ canary: 30 });
  });

  it('finalize runs set with the weight found on first touch when there is no finalize command, also from a resumed process', async () => {
    await writeFile(join(dir, 'split.txt'), '5');
    const first = setup();
    await first.router.setWeights({ canary: 20 }, first.ctx());
    await first.router.setWeights({ canary: 50 }, first.ctx());
    const resumed = setup(fileRouter(), first.states.reopen());
    await resumed.router.finalize(resumed.ctx());
    expect(await calls()).toEqual(['20/80', '50/50', '5/95']);
    expect(resumed.changes).toEqual([{ object: 'command-router/web', field: 'weight', before: 50, after: 5 }]);
    await resumed.router.finalize(resumed.ctx());
    expect(await calls()).toHaveLength(3);
  });

  it('finalize runs the finalize command with the weight found', async () => {
    const config = fileRouter({ finalize: sh('echo "restore $ROLLGATE_CANARY_WEIGHT" >> calls.txt; rm -f split.txt') });
    const { router, ctx } = setup(config);
    await router.setWeights({ canary: 40 }, ctx());
    await router.finalize(ctx());
    expect(await calls()).toEqual(['40/60', 'restore 0']);
    expect(await router.getWeights(ctx())).toEqual({ canary: 0 });
  });

  it('reads the split get prints as a percent or as JSON weights', () => {
    expect(parseSplit('10')).toBe(10);
    expect(parseSplit('12.5')).toBe(12.5);
    expect(parseSplit('{"canary": 25}')).toBe(25);
    expect(parseSplit('{"stable": 9, "canary": 1}')).toBe(10);
    expect(parseSplit('{"stable": 2, "canary": 1}')).toBe(33.33);
    expect(parseSplit('42')).toBe(42);
    for (const bad of ['', 'abc', '150', '-3', '"x"', 'null', '{"canary": "1"}', '{"stable": "x", "canary": 1}', '{"stable": 0, "canary": 0}', '{"canary": 101}', '{"canary": -1}', '1e3', '[1]']) {
      expect(parseSplit(bad), bad).toBeUndefined();
    }
    expect(parseSplit('101.5')).toBeUndefined();
  });

  it('says what get printed when it is not a split', async () => {
    const { router, ctx } = setup(fileRouter({ get: ['echo', 'weight is ten'] }));
    const err = await rejection(router.getWeights(ctx()));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toBe(
      `get command of the router of stage web printed 'weight is ten': expected the canary weight in percent (such as 10) or JSON such as {"stable": 90, "canary": 10}`,
    );
    const quiet = setup(fileRouter({ get: ['true'] }));
    expect(((await rejection(quiet.router.getWeights(quiet.ctx()))) as Error).message).toContain('printed nothing');
  });

  it('quotes a failed command, retryable only for the exit codes the config names', async () => {
    const failing = sh('echo "lb: backend web not found" >&2; exit 3');
    const { router, ctx } = setup(fileRouter({ set: failing }));
    const err = (await rejection(router.setWeights({ canary: 10 }, ctx()))) as ProviderError;
    expect(err.message).toBe('set command of the router of stage web exited with code 3:\n    lb: backend web not found');
    expect(err.retryable).toBe(false);
    const busy = setup(fileRouter({ set: sh('exit 75'), retryOn: { exitCodes: [75] } }));
    expect(((await rejection(busy.router.setWeights({ canary: 10 }, busy.ctx()))) as ProviderError).retryable).toBe(true);
  });

  it('names a program that is not there, and changes nothing', async () => {
    const { router, ctx, states } = setup(fileRouter({ get: ['rollgate-no-such-lb', 'get'] }));
    const err = (await rejection(router.setWeights({ canary: 10 }, ctx()))) as ProviderError;
    expect(err.message).toBe("get command of the router of stage web cannot run: command 'rollgate-no-such-lb' not found on PATH: install it on the runner or give its full path");
    expect(err.nothingChanged).toBe(true);
    expect(states.puts).toBe(0);
  });

  it('honours its timeout and the step signal', async () => {
    const slow = setup(fileRouter({ get: ['sleep', '30'], timeout: '200ms', retryOn: { timeout: true } }));
    const err = (await rejection(slow.router.getWeights(slow.ctx()))) as ProviderError;
    expect(err.message).toBe('get command of the router of stage web timed out after 200ms');
    expect(err.retryable).toBe(true);
    // Aborted once the command has started: the call stops it and rejects with the signal's reason.
    const hanging = setup(fileRouter({ get: ['sleep', '30'] }));
    const abortOnStart = (reason: unknown) => {
      const controller = new AbortController();
      const ctx = hanging.ctx(controller.signal);
      ctx.trackProcess = () => {
        queueMicrotask(() => controller.abort(reason));
        return () => {};
      };
      return ctx;
    };
    expect(((await rejection(hanging.router.getWeights(abortOnStart(new CancelledError('stop'))))) as Error).message).toBe('stop');
    expect(((await rejection(hanging.router.getWeights(abortOnStart('no error object')))) as Error).message).toBe(
      'get command of the router of stage web was cancelled',
    );
  });
});
