import { describe, expect, it } from 'vitest';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { parseValue } from '../util/parse-value.js';
import { configSchema, create, type } from './command.js';

const NODE = process.execPath;

const deps = () => fakeDeps();

const ctx = (options: { signal?: AbortSignal; env?: Record<string, string> } = {}) => fakeStepContext(options);

const probe = (run: unknown, timeout = '2s') => create(configSchema.parse({ type: 'command', run, timeout }), deps());

describe('command probe', () => {
  it('exports its type', () => {
    expect(type).toBe('command');
    expect(probe(['true']).type).toBe('command');
  });

  it('gives a numeric value for numeric output', async () => {
    const result = await probe({ run: 'echo "  42.5 "', shell: true }).check(ctx());
    expect(result).toMatchObject({ ok: true, value: 42.5, details: { exitCode: 0 } });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.error).toBeUndefined();
  });

  it('gives trimmed text otherwise, and null for no output', async () => {
    expect((await probe({ run: 'printf "  ready\\n\\n"', shell: true }).check(ctx())).value).toBe('ready');
    expect((await probe(['true']).check(ctx())).value).toBeNull();
  });

  it('reads values from the environment, verbatim', async () => {
    const hostile = '7; rm -rf / $(id)';
    const result = await probe([NODE, new URL('../../../tests/fixtures/bin/print-env.mjs', import.meta.url).pathname, '--raw', 'X']).check(ctx({ env: { X: hostile } }));
    expect(result.value).toBe(hostile);
  });

  it('is not ok on a non-zero exit, with the last stderr line', async () => {
    const result = await probe({ run: 'echo 3; echo "db down" >&2; exit 2', shell: true }).check(ctx());
    expect(result).toMatchObject({ ok: false, value: 3, error: 'command exited with code 2: db down', details: { exitCode: 2 } });
    const quiet = await probe(['false']).check(ctx());
    expect(quiet.error).toBe('command exited with code 1');
  });

  it('honours its own timeout', async () => {
    const result = await probe(['sleep', '30'], '200ms').check(ctx());
    expect(result.ok).toBe(false);
    expect(result.error).toBe('command timed out after 200ms');
  });

  it('honours ctx.signal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await probe(['sleep', '30']).check(ctx({ signal: controller.signal }));
    expect(result).toMatchObject({ ok: false, error: 'command cancelled' });
  });

  it('never throws: a missing program or bad spec is a failed result', async () => {
    const missing = await probe(['rollgate-no-such-probe']).check(ctx());
    expect(missing).toMatchObject({ ok: false, value: null, error: "command 'rollgate-no-such-probe' not found on PATH: install it on the runner or give its full path" });
    const script = await probe({ run: 'echo hi' }).check(ctx());
    expect(script.ok).toBe(false);
    expect(script.error).toContain('script text needs `shell: true`');
  });

  it('parseValue', () => {
    expect(parseValue('1e3')).toBe(1000);
    expect(parseValue('-0.5')).toBe(-0.5);
    expect(parseValue('.5')).toBe(0.5);
    expect(parseValue('12abc')).toBe('12abc');
    expect(parseValue('1e999')).toBe('1e999');
    expect(parseValue('Infinity')).toBe('Infinity');
    expect(parseValue('0x10')).toBe('0x10');
  });
});
