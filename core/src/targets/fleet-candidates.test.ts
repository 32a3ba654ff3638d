import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import type { Change } from '../model/events.js';
import type { CandidateTarget, FleetTarget, Target } from '../ports/target.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import { configSchema, create } from './fleet.js';

/*
 * The fleet target's candidates beyond the contract (the cap that keeps a stable host, scaling a
 * candidate down and up, a new candidate version), a fleet whose hosts run different versions,
 * the health reports, and a fleet without a `current` command.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-fleet-candidates-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sh = (body: string) => ({ run: ['sh', '-c', body], cwd: '.' });
const FILE = '"$ROLLGATE_HOST.version"';
const HOSTS = ['a', 'b', 'c', 'd', 'e'];

function make(extra: Record<string, unknown> = {}, states = new MemoryProviderStates()) {
  const config = configSchema.parse({
    type: 'fleet',
    hosts: HOSTS,
    current: sh(`cat ${FILE} 2>/dev/null || true`),
    deploy: sh(`printf %s "$ROLLGATE_VERSION" > ${FILE}`),
    // A host named in `sick` fails its health check, saying why.
    health: sh(`if grep -qx "$ROLLGATE_HOST" sick 2>/dev/null; then echo "500 from $ROLLGATE_HOST" >&2; exit 1; fi; test "$(cat ${FILE})" = "$ROLLGATE_VERSION" && echo "serving $ROLLGATE_VERSION"`),
    revert: sh(`echo "$ROLLGATE_PREVIOUS_STATE" >> "$ROLLGATE_HOST.reverts"; case "$ROLLGATE_PREVIOUS_STATE" in version) printf %s "$ROLLGATE_PREVIOUS_VERSION" > ${FILE};; none) rm -f ${FILE};; esac`),
    ...extra,
  });
  const target = create(config, fakeDeps({ workDir: dir }, { states }));
  return { target, states, candidates: target.candidates as CandidateTarget, fleet: target.fleet as FleetTarget };
}

function call(env: Record<string, string> = {}) {
  const changes: Change[] = [];
  const infos: string[] = [];
  const ctx = fakeStepContext({ stage: 'prod', changes, env, log: { info: (m) => infos.push(m), warn() {}, output() {} } });
  return { ctx, changes, infos };
}
const ctx = () => call().ctx;

async function versions(): Promise<Record<string, string | null>> {
  const read = (h: string) => readFile(join(dir, `${h}.version`), 'utf8').catch(() => null);
  return Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, await read(h)] as const)));
}
const all = (v: string | null) => Object.fromEntries(HOSTS.map((h) => [h, v]));

async function stable(target: Target) {
  await target.deploy('v1', ctx());
}

describe('candidates on a fleet', () => {
  it('keeps one host on the stable version until the promotion, and says so', async () => {
    const { target, candidates, states } = make();
    await stable(target);
    const { ctx: c, infos } = call();
    await candidates.deployCandidate('v2', await candidates.fullScale(ctx()), c);
    expect(infos).toEqual(['fleet: candidate v2 on 4 of 5 hosts (asked for 5; one host keeps the stable version until the promotion)']);
    expect(await versions()).toEqual({ a: 'v2', b: 'v2', c: 'v2', d: 'v2', e: 'v1' });
    expect(states.snapshot()).toEqual({ provider: { candidate: { version: 'v2', hosts: ['a', 'b', 'c', 'd'], previous: { a: 'v1', b: 'v1', c: 'v1', d: 'v1' } } } });
    // The target's health and current are the stable version's; the candidate has its own.
    expect(await target.current(ctx())).toEqual({ version: 'v1', details: { hosts: 5 } });
    expect(await target.health(ctx())).toEqual({ healthy: true, ready: 1, total: 1, message: 'e: serving v1' });
    expect(await candidates.candidateHealth(ctx())).toEqual({ healthy: true, ready: 4, total: 4, message: '4/4 hosts healthy' });
  });

  it('scales the candidate down and up, and a new candidate version replaces the old one', async () => {
    const { target, candidates, states } = make();
    await stable(target);
    await candidates.deployCandidate('v2', 3, ctx());
    const down = call();
    await candidates.scale({ stable: 4, candidate: 1 }, down.ctx);
    expect(await versions()).toEqual({ ...all('v1'), a: 'v2' });
    expect(down.changes.map((c) => `${c.object}: ${String(c.before)} -> ${String(c.after)}`).sort()).toEqual(['host/b: v2 -> v1', 'host/c: v2 -> v1']);
    expect(states.snapshot()).toEqual({ provider: { candidate: { version: 'v2', hosts: ['a'], previous: { a: 'v1' } } } });
    await candidates.scale({ stable: 0, candidate: 9 }, ctx());
    expect(await versions()).toEqual(all('v2'));
    await candidates.deployCandidate('v3', 2, ctx());
    expect(await versions()).toEqual({ ...all('v1'), a: 'v3', b: 'v3' });
    await candidates.removeCandidate(ctx());
    expect(await versions()).toEqual(all('v1'));
    expect(states.snapshot()).toEqual({ provider: {} });
  });

  it('scaling without a candidate is an error, unless to nothing; promoting without one changes nothing', async () => {
    const { target, candidates } = make();
    await stable(target);
    const err = await candidates.scale({ stable: 4, candidate: 1 }, ctx()).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toBe('fleet target of stage prod: no candidate to scale to 1 host(s); start one first (deployCandidate)');
    await candidates.scale({ stable: 5, candidate: 0 }, ctx());
    const promoting = call();
    await candidates.promote(promoting.ctx);
    expect(promoting.infos).toEqual(['fleet: no candidate to promote (already promoted)']);
    expect(promoting.changes).toEqual([]);
    expect(await candidates.candidateHealth(ctx())).toEqual({ healthy: false, ready: 0, total: 0, message: 'no host runs a candidate' });
  });

  it('a fleet of one host runs the candidate on it', async () => {
    const { target, candidates } = make({ hosts: ['a'] });
    await target.deploy('v1', ctx());
    await candidates.deployCandidate('v2', 1, ctx());
    expect((await versions()).a).toBe('v2');
    expect(await target.health(ctx())).toEqual({ healthy: false, ready: 0, total: 0, message: 'no hosts to check' });
    expect(await candidates.candidateHealth(ctx())).toEqual({ healthy: true, ready: 1, total: 1, message: 'a: serving v2' });
  });

  it('a unit that runs the candidate is checked against the candidate version', async () => {
    const { target, candidates, states } = make();
    await stable(target);
    await candidates.deployCandidate('v2', 1, ctx());
    // A new process knows only the journal: host a should serve v2, host b what it runs.
    const later = make({}, states.reopen());
    expect(await later.fleet.unitHealth('a', ctx())).toEqual({ healthy: true, ready: 1, total: 1, message: 'serving v2' });
    expect(await later.fleet.unitHealth('b', ctx())).toEqual({ healthy: true, ready: 1, total: 1, message: 'serving v1' });
  });
});

describe('health', () => {
  it('names the failing hosts and counts the rest', async () => {
    const { target } = make();
    await stable(target);
    await writeFile(join(dir, 'sick'), 'a\nc\nd\ne\n');
    expect(await target.health(ctx())).toEqual({
      healthy: false,
      ready: 1,
      total: 5,
      message: '1/5 hosts healthy; failing: a: health command exited with code 1: 500 from a; c: health command exited with code 1: 500 from c; d: health command exited with code 1: 500 from d; 1 more',
    });
    expect(await make({ hosts: ['a'] }).fleet.unitHealth('a', ctx())).toEqual({ healthy: false, ready: 0, total: 1, message: 'health command exited with code 1: 500 from a' });
  });

  it('throws when a health command cannot run at all', async () => {
    const { target } = make({ health: { run: ['./no-health'], cwd: '.' } });
    const err = await target.health(ctx()).catch((e: unknown) => e as ProviderError);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toMatch(/^fleet target: health failed on 5 of 5 hosts \(a, b, c, d, e\):\n {2}- fleet target of stage prod, host a: health command \(\.\/no-health\) cannot run/);
  });
});

describe('a fleet whose hosts run different versions', () => {
  it('reports the version most hosts run and each host’s, and a revert puts each back', async () => {
    const { target } = make();
    await writeFile(join(dir, 'a.version'), 'v0');
    await writeFile(join(dir, 'b.version'), 'v1');
    await writeFile(join(dir, 'c.version'), 'v1');
    const previous = await target.current(ctx());
    expect(previous).toEqual({ version: 'v1', details: { hosts: 5, byHost: { a: 'v0', b: 'v1', c: 'v1', d: null, e: null } } });
    await target.deploy('v2', ctx());
    expect(await versions()).toEqual(all('v2'));
    await target.revert(JSON.parse(JSON.stringify(previous)), ctx());
    expect(await versions()).toEqual({ a: 'v0', b: 'v1', c: 'v1', d: null, e: null });
  });
});

describe('without a `current` command', () => {
  const blind = () => make({ current: undefined });

  it('knows only what it deployed itself, and tells the revert command the version before is unknown', async () => {
    const { target, fleet } = blind();
    expect(target.knowsCurrent).toBe(false);
    expect(await target.current(ctx())).toBeUndefined();
    expect(await fleet.unitVersion('a', ctx())).toBeUndefined();
    const first = call();
    await target.deploy('v1', first.ctx);
    expect(first.changes.find((c) => c.object === 'host/a')).toEqual({ object: 'host/a', field: 'version', before: null, after: 'v1' });
    expect(await fleet.unitVersion('a', ctx())).toBe('v1');
    const again = call();
    await target.deploy('v1', again.ctx);
    expect(again.changes).toEqual([]);
    await fleet.revertUnit('a', undefined, ctx());
    await target.revert(undefined, ctx());
    expect(await readFile(join(dir, 'a.reverts'), 'utf8')).toBe('unknown\nunknown\n');
    expect(await versions()).toEqual(all('v1'));
  });

  it('checks an untouched host against the run’s version', async () => {
    const { target } = blind();
    await writeFile(join(dir, 'a.version'), 'v7');
    expect(await target.fleet?.unitHealth('a', call({ ROLLGATE_VERSION: 'v7' }).ctx)).toMatchObject({ healthy: true });
    expect(await target.fleet?.unitHealth('a', ctx())).toMatchObject({ healthy: false });
  });
});
