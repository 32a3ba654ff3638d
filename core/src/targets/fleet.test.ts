import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWorkflow } from '../definition/load.js';
import { CancelledError, ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import type { StepContext } from '../ports/step-context.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { configSchema, create } from './fleet.js';

/*
 * The fleet target outside the contract: its config errors, the host list from a file, the
 * messages of a failing or hanging host, the concurrency limit, the values its commands get, and
 * a fleet without a `current` command. Hosts are files in a temp dir changed by sh programs
 * given as argv.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-fleet-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sh = (body: string) => ({ run: ['sh', '-c', body], cwd: '.' });
const VERSION_FILE = '"$ROLLGATE_HOST.version"';

/** A fleet whose hosts keep their version in `<host>.version`. */
function config(extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    type: 'fleet',
    hosts: ['a', 'b', 'c'],
    current: sh(`cat ${VERSION_FILE} 2>/dev/null || true`),
    deploy: sh(`printf %s "$ROLLGATE_VERSION" > ${VERSION_FILE}`),
    health: sh(`test "$(cat ${VERSION_FILE} 2>/dev/null)" = "$ROLLGATE_VERSION" && echo "serving $ROLLGATE_VERSION"`),
    revert: sh(`case "$ROLLGATE_PREVIOUS_STATE" in version) printf %s "$ROLLGATE_PREVIOUS_VERSION" > ${VERSION_FILE};; none) rm -f ${VERSION_FILE};; esac`),
    ...extra,
  });
}

function target(extra: Record<string, unknown> = {}) {
  return create(config(extra), fakeDeps({ workDir: dir, environment: 'production' }));
}

interface Call {
  ctx: StepContext;
  changes: Change[];
  lines: string[];
  infos: string[];
}

function call(options: { signal?: AbortSignal; env?: Record<string, string>; processes?: Set<number> } = {}): Call {
  const changes: Change[] = [];
  const lines: string[] = [];
  const infos: string[] = [];
  const ctx = fakeStepContext({
    stage: 'prod',
    step: 'deploy',
    changes,
    log: { info: (m) => infos.push(m), warn: (m) => infos.push(m), output: (_s, line) => lines.push(line) },
    ...options,
  });
  return { ctx, changes, lines, infos };
}

const versionOn = (host: string) => readFile(join(dir, `${host}.version`), 'utf8').catch(() => null);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('expected the call to reject'),
    (err: unknown) => err as Error,
  );
}

describe('config', () => {
  const problems = (input: Record<string, unknown>) => {
    const result = configSchema.safeParse({ type: 'fleet', deploy: ['d'], health: ['h'], revert: ['r'], ...input });
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('takes hosts from a list, a file or a probe: one of them', () => {
    expect(problems({ hosts: ['a'] })).toEqual([]);
    expect(problems({ hostsFile: 'hosts.txt' })).toEqual([]);
    expect(problems({ hostsFrom: 'inventory' })).toEqual([]);
    const one = 'hosts: give the hosts one way: as a list (`hosts`), in a file (`hostsFile`) or from a probe (`hostsFrom`)';
    expect(problems({})).toEqual([one]);
    expect(problems({ hosts: ['a'], hostsFile: 'hosts.txt' })).toEqual([`${one}, not several`]);
    expect(problems({ hostsFile: 'hosts.txt', hostsFrom: 'inventory' })).toEqual([`${one}, not several`]);
  });

  it('refuses an empty fleet, a duplicate host and a host with spaces', () => {
    expect(problems({ hosts: [] })[0]).toMatch(/^hosts: Too small/);
    expect(problems({ hosts: ['a', 'b', 'a'] })).toEqual(['hosts.2: host a is listed twice (first as hosts[0]); each host must appear once']);
    expect(problems({ hosts: ['a b'] })).toEqual(['hosts.0: expected one host name or address, without spaces or #']);
  });

  it('has the defaults the reference documents', () => {
    const parsed = config();
    expect(parsed).toMatchObject({ concurrency: 10, timeout: 600_000, checkTimeout: 30_000, retryOn: { exitCodes: [], timeout: false } });
  });

  it('is a target the progressive and canary strategies accept, and its errors are workflow errors', () => {
    const workflow = (target: Record<string, unknown>, strategy: Record<string, unknown>) =>
      JSON.stringify({ version: 1, name: 'web', environments: { production: {} }, stages: [{ name: 'api', environment: 'production', version: 'v2', target, strategy }] });
    const fleetTarget = { type: 'fleet', hosts: ['a', 'b'], deploy: ['d'], health: ['h'], revert: ['r'] };
    expect(parseWorkflow(workflow(fleetTarget, { type: 'progressive' }), 'w.json').ok).toBe(true);
    expect(parseWorkflow(workflow(fleetTarget, { type: 'canary', stepWeight: 50 }), 'w.json').ok).toBe(true);
    const bad = parseWorkflow(workflow({ ...fleetTarget, hosts: ['a', 'a'] }, { type: 'progressive' }), 'w.json');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map((e) => `${e.path}: ${e.message}`)).toEqual(['stages[api].target.hosts[1]: host a is listed twice (first as hosts[0]); each host must appear once']);
  });
});

describe('hosts file', () => {
  const units = (hostsFile: string) => target({ hosts: undefined, hostsFile }).fleet?.units(call().ctx) as Promise<string[]>;

  it('reads one host per line, skipping comments and blank lines, relative to the workflow folder', async () => {
    await writeFile(join(dir, 'hosts.txt'), '# rack 1\nweb-1\n\n  web-2   # the new one\r\n#web-3\n10.0.0.7:8080\n');
    expect(await units('hosts.txt')).toEqual(['web-1', 'web-2', '10.0.0.7:8080']);
    expect(await units(join(dir, 'hosts.txt'))).toEqual(['web-1', 'web-2', '10.0.0.7:8080']);
  });

  it('says which file is missing, and reads it again on the next call', async () => {
    const fleet = target({ hosts: undefined, hostsFile: 'inventory/hosts.txt' });
    const err = await rejection(fleet.current(call().ctx));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe(
      `fleet target: cannot read hosts file ${join(dir, 'inventory/hosts.txt')} (it does not exist); write one host per line there before the stage runs, or list them under \`hosts\` (a relative path is relative to the workflow file)`,
    );
    await mkdir(join(dir, 'inventory'));
    await writeFile(join(dir, 'inventory/hosts.txt'), 'a\n');
    expect(await fleet.fleet?.units(call().ctx)).toEqual(['a']);
    // Read once per target instance (a stage run): the fleet does not change under a rollout.
    await writeFile(join(dir, 'inventory/hosts.txt'), 'a\nb\n');
    expect(await fleet.fleet?.units(call().ctx)).toEqual(['a']);
  });

  it('refuses a directory, an empty fleet, a duplicate host and a line with two words', async () => {
    const path = (name: string) => join(dir, name);
    await mkdir(path('folder'));
    await writeFile(path('empty.txt'), '# nothing yet\n\n');
    await writeFile(path('twice.txt'), 'a\nb\n# c\na\n');
    await writeFile(path('words.txt'), 'a\nweb 1\n');
    expect((await rejection(units('folder'))).message).toMatch(`cannot read hosts file ${path('folder')} (it is a directory)`);
    expect((await rejection(units('empty.txt'))).message).toBe(`fleet target: hosts file ${path('empty.txt')} lists no hosts (only blank lines and comments); a fleet needs at least one host`);
    expect((await rejection(units('twice.txt'))).message).toBe(`fleet target: hosts file ${path('twice.txt')} lists host a twice (lines 1 and 4); each host must appear once`);
    expect((await rejection(units('words.txt'))).message).toBe(`fleet target: hosts file ${path('words.txt')}, line 2: 'web 1' is not one host (one host per line; # starts a comment)`);
  });
});

describe('commands', () => {
  it('hands each command its host and versions as environment variables, never as code', async () => {
    const hostile = `v2; touch pwned $(touch pwned2) \`id\` "'`;
    const fleet = target({ deploy: sh(`env | grep -E '^(ROLLGATE_|CUSTOM)' | sort > "$ROLLGATE_HOST.env"; printf %s "$ROLLGATE_VERSION" > ${VERSION_FILE}`) });
    await fleet.deploy('v1', call().ctx);
    const { changes } = await (async () => {
      const c = call({ env: { CUSTOM: 'kept', ROLLGATE_VERSION: 'run-version' } });
      await fleet.deploy(hostile, c.ctx);
      return c;
    })();
    const env = await readFile(join(dir, 'b.env'), 'utf8');
    expect(env.trim().split('\n')).toEqual([
      'CUSTOM=kept',
      'ROLLGATE_ENVIRONMENT=production',
      'ROLLGATE_HOST=b',
      'ROLLGATE_PREVIOUS_STATE=version',
      'ROLLGATE_PREVIOUS_VERSION=v1',
      'ROLLGATE_STAGE=prod',
      `ROLLGATE_VERSION=${hostile}`,
    ]);
    expect(await versionOn('b')).toBe(hostile);
    expect(await readFile(join(dir, 'pwned'), 'utf8').catch(() => 'absent')).toBe('absent');
    expect(changes.sort((x, y) => x.object.localeCompare(y.object))).toEqual(['a', 'b', 'c'].map((h) => ({ object: `host/${h}`, field: 'version', before: 'v1', after: hostile })));
  });

  it('names the host, the command and its last output lines when a host fails, and deploys no further host', async () => {
    const fleet = target({
      concurrency: 1,
      deploy: sh(`if [ "$ROLLGATE_HOST" = b ]; then for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; exit 3; fi; printf %s "$ROLLGATE_VERSION" > ${VERSION_FILE}`),
    });
    const err = await rejection(fleet.deploy('v1', call().ctx));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryable).toBe(false);
    expect(err.message).toBe(
      [
        `fleet target of stage prod, host b: deploy command (sh -c if [ "$ROLLGATE_HOST" = b ]; then for i in 1 2 3 4 ...) exited with code 3:`,
        ...[3, 4, 5, 6, 7].map((i) => `    line ${i}`),
        'b was not recorded as deployed; the rollback reverts it (the deploy command must be idempotent).',
      ].join('\n'),
    );
    expect([await versionOn('a'), await versionOn('b'), await versionOn('c')]).toEqual(['v1', null, null]);
  });

  it('stops a hanging deploy at its time limit, kills its process group, and says so', async () => {
    const fleet = target({
      timeout: '300ms',
      retryOn: { timeout: true },
      deploy: sh(`if [ "$ROLLGATE_HOST" = c ]; then echo "restarting c"; sleep 600 & echo $! > grandchild.pid; wait; fi; printf %s "$ROLLGATE_VERSION" > ${VERSION_FILE}`),
    });
    const { ctx, lines } = call();
    const err = await rejection(fleet.deploy('v1', ctx));
    expect(err.message).toMatch(/^fleet target of stage prod, host c: deploy command \(sh -c .*\) timed out after 300ms \(its process group was killed\):\n {4}restarting c\n/);
    expect((err as ProviderError).retryable).toBe(true);
    expect(lines).toContain('c: restarting c');
    // The command's own children went with it.
    const grandchild = Number(await readFile(join(dir, 'grandchild.pid'), 'utf8'));
    await until(() => !alive(grandchild), 'the hanging command’s child was not killed');
    expect([await versionOn('a'), await versionOn('b')]).toEqual(['v1', 'v1']);
  });

  it('runs at most `concurrency` commands at once, across calls made at the same time', async () => {
    const processes = new Set<number>();
    let peak = 0;
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
    const fleet = target({ hosts, concurrency: 2, deploy: sh(`sleep 0.1; printf %s "$ROLLGATE_VERSION" > ${VERSION_FILE}`) });
    const { ctx } = call({ processes });
    const track = ctx.trackProcess;
    ctx.trackProcess = (pgid, command) => {
      const untrack = track(pgid, command);
      peak = Math.max(peak, processes.size);
      return untrack;
    };
    // As a progressive wave calls it: one deployUnit per host, all at once.
    await Promise.all(hosts.map((h) => fleet.fleet?.deployUnit(h, 'v1', ctx)));
    expect(peak).toBe(2);
    await fleet.deploy('v2', ctx);
    expect(peak).toBe(2);
    expect(await fleet.health(call().ctx)).toEqual({ healthy: true, ready: 6, total: 6, message: '6/6 hosts healthy' });
  });

  it('stops at once when cancelled, also calls still waiting for their turn', async () => {
    const fleet = target({ concurrency: 1, deploy: sh('echo started; exec sleep 600') });
    const controller = new AbortController();
    const { ctx, lines } = call({ signal: controller.signal });
    ctx.log.output = (_s, line) => {
      lines.push(line);
      controller.abort(new CancelledError('stop'));
    };
    const units = ['a', 'b', 'c'].map((h) => rejection(fleet.fleet?.deployUnit(h, 'v1', ctx) as Promise<void>));
    const errors = await Promise.all(units);
    expect(errors.map((e) => e.message)).toEqual(['stop', 'stop', 'stop']);
    expect(errors[0]).toBeInstanceOf(CancelledError);
    expect(lines).toEqual(['a: started']);
    // A signal that is not an error still cancels with a CancelledError.
    const plain = new AbortController();
    plain.abort('bye');
    const err = await rejection(fleet.deploy('v1', call({ signal: plain.signal }).ctx));
    expect(err).toBeInstanceOf(CancelledError);
    expect(err.message).toBe('fleet target: the call was cancelled');
  });

  it('says which host a command could not start on; nothing changed there', async () => {
    const fleet = target({ deploy: { run: ['./no-such-deploy'], cwd: '.' } });
    const err = await rejection(fleet.fleet?.deployUnit('a', 'v1', call().ctx) as Promise<void>);
    expect(err.message).toMatch(/^fleet target of stage prod, host a: deploy command \(\.\/no-such-deploy\) cannot run: command '\.\/no-such-deploy' not found at/);
    expect((err as ProviderError).nothingChanged).toBe(true);
  });

  it('reports a failing `current` command with the host and what it said', async () => {
    const fleet = target({ current: sh('echo "cannot reach $ROLLGATE_HOST" >&2; exit 2') });
    const err = await rejection(fleet.fleet?.unitVersion('b', call().ctx) as Promise<unknown>);
    expect(err.message).toMatch(/^fleet target of stage prod, host b: current command \(sh -c .*\) exited with code 2:\n {4}cannot reach b\nFix the `current` command/);
  });

  it('reports every host a revert failed on, after trying them all', async () => {
    const fleet = target({ revert: sh('echo "disk full on $ROLLGATE_HOST" >&2; exit 1') });
    await fleet.deploy('v1', call().ctx);
    const err = await rejection(fleet.revert(undefined, call().ctx));
    expect(err.message.split('\n')[0]).toBe('fleet target: removing the first deploy failed on 3 of 3 hosts (a, b, c):');
    for (const h of ['a', 'b', 'c']) expect(err.message).toContain(`  - fleet target of stage prod, host ${h}: revert command (sh -c echo "disk full on $ROLLGATE_HOST" >&2; exit 1) exited with code 1:\n        disk full on ${h}`);
    expect(err.message).toContain(`${'    '}${'a'} was not reverted; undo the deploy there by hand.`);
  });
});

describe('messages about many hosts', () => {
  it('quote the first five failures, name the first ten hosts, and count the rest', async () => {
    const hosts = Array.from({ length: 12 }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
    await target({ hosts }).deploy('v1', call().ctx);
    const fleet = target({ hosts, revert: sh('echo "no route to $ROLLGATE_HOST" >&2; exit 75'), retryOn: { exitCodes: [75] } });
    const err = await rejection(fleet.revert(undefined, call().ctx));
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('fleet target: removing the first deploy failed on 12 of 12 hosts (h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, …):');
    expect(lines.filter((l) => l.startsWith('  - fleet target of stage prod, host '))).toHaveLength(5);
    expect(lines.at(-1)).toBe('  - and 7 more');
    expect((err as ProviderError).retryable).toBe(true);
  });

  it('never quote a secret a command printed', async () => {
    const fleet = target({ deploy: sh('echo "login failed for token s3cr3t-t0ken" >&2; exit 1') });
    const ctx = fakeStepContext({ stage: 'prod', mask: (text) => text.replaceAll('s3cr3t-t0ken', '***') });
    const err = await rejection(fleet.fleet?.deployUnit('a', 'v1', ctx) as Promise<void>);
    expect(err.message).toContain('login failed for token ***');
    expect(err.message).not.toContain('s3cr3t');
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `ok` until it holds, for at most 5 s. */
async function until(ok: () => boolean, message: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > deadline) expect.fail(message);
    await new Promise((r) => setTimeout(r, 20));
  }
}
