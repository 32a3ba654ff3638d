import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWorkflow } from '../definition/load.js';
import { runWorkflow } from '../engine/executor.js';
import { MemoryRunStore } from '../engine/memory-run-store.js';
import { ProviderError } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import type { ProbeResult } from '../model/results.js';
import { fakeDeps, fakeStepContext, TEST_PATH } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import { loadTestWorkflow } from '../testing/workflows.js';
import { configSchema, create } from './fleet.js';
import { parseHostList } from './fleet/hosts.js';

/*
 * A fleet whose hosts come from a probe (`hostsFrom`): an inventory API through an http probe's
 * jsonPath, or an inventory script through a command probe. The list is read once, kept in the
 * journal before the first change, and a later process of the run uses what was kept.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-hosts-from-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ok = (value: ProbeResult['value']): ProbeResult => ({ ok: true, value, latencyMs: 3 });
const config = () => configSchema.parse({ type: 'fleet', hostsFrom: 'inventory', deploy: ['d'], health: ['h'], revert: ['r'] });
const ctx = () => fakeStepContext({ stage: 'prod' });
const sh = (body: string) => ['sh', '-c', body];

/** A one-stage workflow on a fleet whose hosts the `inventory` probe lists; `dir` holds each host's version file. */
function inventoryWorkflow(inventory: string[], commands: Record<'deploy' | 'health' | 'revert', string[]>, stage: Record<string, unknown>) {
  return loadTestWorkflow({
    environments: { prod: {} },
    probes: { inventory: { type: 'command', run: inventory } },
    stages: [{ name: 'web', environment: 'prod', target: { type: 'fleet', hostsFrom: 'inventory', ...commands }, ...stage }],
  });
}

/** Runs it with the test PATH, keeping its events. */
async function runRecorded(loaded: ReturnType<typeof loadTestWorkflow>) {
  const events: RunEvent[] = [];
  const outcome = await runWorkflow({ loaded, store: new MemoryRunStore(), context: { actor: 'alice', ci: 'local' }, env: { PATH: TEST_PATH }, subscribers: [(e) => events.push(e)] });
  return { outcome, events };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('expected the call to reject'),
    (err: unknown) => err as Error,
  );
}

describe('a host list from a probe value', () => {
  it('reads a JSON array, or hosts separated by newlines, spaces or commas, in that order', () => {
    expect(parseHostList('["web-2", "web-1", "10.0.0.7:8080"]', 'probe x')).toEqual(['web-2', 'web-1', '10.0.0.7:8080']);
    expect(parseHostList('web-2\nweb-1\n\n10.0.0.7:8080\n', 'probe x')).toEqual(['web-2', 'web-1', '10.0.0.7:8080']);
    expect(parseHostList(' web-2, web-1 10.0.0.7:8080', 'probe x')).toEqual(['web-2', 'web-1', '10.0.0.7:8080']);
  });

  it('says what is wrong with a value that is not a host list, naming the probe', () => {
    const message = (value: ProbeResult['value']) => {
      try {
        parseHostList(value, "probe 'inventory' (hostsFrom)");
        return 'no error';
      } catch (err) {
        expect(err).toBeInstanceOf(ProviderError);
        return (err as Error).message;
      }
    };
    const expected = 'not a list of hosts (expected a JSON array of strings, or hosts separated by newlines, spaces or commas)';
    expect(message(null)).toBe(`fleet target: probe 'inventory' (hostsFrom) gave nothing, ${expected}`);
    expect(message(12)).toBe(`fleet target: probe 'inventory' (hostsFrom) gave number 12, ${expected}`);
    expect(message('[web-1, web-2]')).toMatch(/^fleet target: probe 'inventory' \(hostsFrom\) gave text that starts like a JSON array but is not one \(.+\)$/);
    expect(message('[]')).toBe("fleet target: probe 'inventory' (hostsFrom) gave an empty list; a fleet needs at least one host");
    expect(message('["web 1"]')).toBe(`fleet target: probe 'inventory' (hostsFrom): entry 1 ("web 1") is not one host name or address`);
    expect(message('["a", 2]')).toBe(`fleet target: probe 'inventory' (hostsFrom): entry 2 (2) is not one host name or address`);
    expect(message('a b a')).toBe("fleet target: probe 'inventory' (hostsFrom) lists host a twice (entries 1 and 3); each host must appear once");
  });
});

describe('hostsFrom', () => {
  it('reads the probe once, keeps the list in the journal before any change, and a later process uses the kept list', async () => {
    const states = new MemoryProviderStates();
    let reads = 0;
    const probes = { inventory: () => (reads++, ok(reads === 1 ? 'web-1\nweb-2' : 'web-9')) };
    const fleet = create(config(), fakeDeps({ workDir: dir }, { states, probes }));
    expect(await fleet.fleet?.units(ctx())).toEqual(['web-1', 'web-2']);
    expect(await fleet.fleet?.units(ctx())).toEqual(['web-1', 'web-2']);
    expect(reads).toBe(1);
    expect(states.snapshot()).toEqual({ provider: { hosts: ['web-1', 'web-2'] } });
    // The job that resumes the run: the inventory changed meanwhile, the rollout's fleet did not.
    const later = create(config(), fakeDeps({ workDir: dir }, { states: states.reopen(), probes }));
    expect(await later.fleet?.units(ctx())).toEqual(['web-1', 'web-2']);
    expect(reads).toBe(1);
  });

  it('fails retryably with the probe error, having changed nothing, and reads again on the next call', async () => {
    let answer: ProbeResult = { ok: false, value: null, latencyMs: 5000, error: 'timed out after 2000ms' };
    const fleet = create(config(), fakeDeps({ workDir: dir }, { probes: { inventory: () => answer } }));
    const err = (await rejection(fleet.fleet?.units(ctx()) as Promise<string[]>)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe("fleet target: probe 'inventory' (hostsFrom) failed: timed out after 2000ms; the hosts come from it, so nothing was changed");
    expect([err.retryable, err.nothingChanged]).toEqual([true, true]);
    answer = ok('["a"]');
    expect(await fleet.fleet?.units(ctx())).toEqual(['a']);
  });

  it('keeps the hosts when a candidate comes and goes', async () => {
    const states = new MemoryProviderStates();
    const sh = (body: string) => ['sh', '-c', body];
    const file = `${dir}/"$ROLLGATE_HOST".version`;
    const fleet = create(
      configSchema.parse({
        type: 'fleet',
        hostsFrom: 'inventory',
        current: sh(`cat ${file} 2>/dev/null || true`),
        deploy: sh(`printf %s "$ROLLGATE_VERSION" > ${file}`),
        health: sh('true'),
        revert: sh(`printf %s "$ROLLGATE_PREVIOUS_VERSION" > ${file}`),
      }),
      fakeDeps({ workDir: dir }, { states, probes: { inventory: ok('a b') } }),
    );
    await fleet.candidates?.deployCandidate('v2', 1, ctx());
    expect(states.snapshot()).toEqual({ provider: { hosts: ['a', 'b'], candidate: { version: 'v2', hosts: ['a'], previous: { a: null } } } });
    await fleet.candidates?.removeCandidate(ctx());
    expect(states.snapshot()).toEqual({ provider: { hosts: ['a', 'b'] } });
  });

  it('must name a declared probe: validation says which', () => {
    const text = JSON.stringify({
      version: 1,
      name: 'web',
      environments: { production: {} },
      probes: { db: { type: 'tcp', host: 'localhost', port: 5432 } },
      stages: [{ name: 'api', environment: 'production', version: 'v2', target: { type: 'fleet', hostsFrom: 'inventroy', deploy: ['d'], health: ['h'], revert: ['r'] } }],
    });
    const result = parseWorkflow(text, 'w.json');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => `${e.path}: ${e.message}`)).toEqual(["stages[api].target.hostsFrom: probe 'inventroy' is not declared under probes (declared: db)"]);
  });

  it('runs a rollout on the hosts an inventory command lists, and records the probe as evidence', async () => {
    const file = `${dir}/"$ROLLGATE_HOST".version`;
    await writeFile(join(dir, 'inventory.txt'), 'web-2\nweb-1\n');
    const loaded = inventoryWorkflow(
      ['cat', join(dir, 'inventory.txt')],
      {
        deploy: sh(`echo "$ROLLGATE_HOST" >> ${dir}/deploys; printf %s "$ROLLGATE_VERSION" > ${file}`),
        health: sh(`test "$(cat ${file})" = "$ROLLGATE_VERSION"`),
        revert: sh(`rm -f ${file}`),
      },
      { strategy: { type: 'progressive', waves: [1, 2], maxParallel: 1 }, verify: { interval: '10ms', timeout: '5s' } },
    );
    const { outcome, events } = await runRecorded(loaded);
    expect(outcome.status).toBe('succeeded');
    expect((await readFile(join(dir, 'deploys'), 'utf8')).split('\n').filter(Boolean)).toEqual(['web-2', 'web-1']);
    const measured = events.find((e) => e.kind === 'probes.measured');
    expect(measured).toMatchObject({ stage: 'web', snapshot: { inventory: { ok: true, value: 'web-2\nweb-1' } } });
    expect(outcome.journal.providers?.['target/web']).toEqual({ hosts: ['web-2', 'web-1'] });
  });
});

describe('hostsFrom under faults', () => {
  it('refuses a host list cut short: a probe keeps only the last 64 KiB of what it prints', async () => {
    const long = ok('web-9999');
    long.details = { exitCode: 0, outputTruncated: true };
    const fleet = create(config(), fakeDeps({ workDir: dir }, { probes: { inventory: long } }));
    const err = (await rejection(fleet.fleet?.units(ctx()) as Promise<string[]>)) as ProviderError;
    expect(err.message).toBe("fleet target: probe 'inventory' (hostsFrom) printed more than a probe keeps (64 KiB), so its first hosts were cut off; print fewer (a file for hostsFile holds any number)");
    expect(err.nothingChanged).toBe(true);
  });

  it('an inventory that fails once, then answers: the retried deploy has its undo, and a failed verify reverts the hosts', async () => {
    const file = `${dir}/"$ROLLGATE_HOST".version`;
    for (const h of ['a', 'b']) await writeFile(join(dir, `${h}.version`), 'v1');
    const loaded = inventoryWorkflow(
      // The first read fails (the inventory API has a bad moment); the second lists a and b.
      sh(`if [ -e ${dir}/asked ]; then echo a b; else touch ${dir}/asked; echo 503 >&2; exit 1; fi`),
      {
        deploy: sh(`printf %s "$ROLLGATE_VERSION" > ${file}`),
        health: sh('exit 1'),
        revert: sh(`echo "$ROLLGATE_HOST:$ROLLGATE_PREVIOUS_STATE" >> ${dir}/reverts; rm -f ${file}`),
      },
      { retry: { attempts: 2, initialDelay: '10ms' }, verify: { interval: '10ms', timeout: '200ms' } },
    );
    const { outcome, events } = await runRecorded(loaded);
    expect(events.filter((e) => e.kind === 'step.retrying').length).toBe(1);
    expect(outcome.status).toBe('rolled-back');
    // Without a `current` command rollgate cannot tell what ran before: the revert is told so.
    expect((await readFile(join(dir, 'reverts'), 'utf8')).split('\n').filter(Boolean).sort()).toEqual(['a:unknown', 'b:unknown']);
    expect(outcome.journal.stages.web?.compensations.map((c) => [c.op, c.status])).toEqual([['target.revert', 'done']]);
  });
});
