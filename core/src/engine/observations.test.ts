import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_PATH } from '../testing/fakes.js';
import { loadTestWorkflow } from '../testing/workflows.js';
import { MemoryRunStore } from './memory-run-store.js';
import { runWorkflow } from './executor.js';
import type { RunEvent } from '../model/events.js';

/*
 * What runs is read once before it changes, not once per call: the stage's plan reads it, the
 * first step uses that read, a deploy uses the read of its own step. A later step, a retried
 * attempt and a rollback read again. Counted with `current` commands that log each call.
 */

const PATH = TEST_PATH;
const sh = (body: string) => ['sh', '-c', body];

async function run(stage: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const events: RunEvent[] = [];
  const loaded = loadTestWorkflow({ environments: { prod: {} }, stages: [{ name: 'web', environment: 'prod', ...stage }], ...extra });
  const outcome = await runWorkflow({ loaded, store: new MemoryRunStore(), context: { actor: 'alice', ci: 'local' }, env: { PATH }, subscribers: [(e) => events.push(e)] });
  return { outcome, events };
}

const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

async function fleet(hosts: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-reads-'));
  for (const h of hosts) await writeFile(join(dir, `${h}.version`), 'v1');
  const file = `${dir}/"$ROLLGATE_HOST".version`;
  const target = {
    type: 'fleet',
    hosts,
    current: sh(`echo "$ROLLGATE_HOST" >> ${dir}/reads; cat ${file}`),
    deploy: sh(`echo "$ROLLGATE_HOST:$ROLLGATE_PREVIOUS_VERSION" >> ${dir}/deploys; printf %s "$ROLLGATE_VERSION" > ${file}`),
    health: sh(`test ! -e ${dir}/sick-"$ROLLGATE_VERSION"`),
    revert: sh(`echo "$ROLLGATE_HOST:$ROLLGATE_PREVIOUS_VERSION" >> ${dir}/reverts; printf %s "$ROLLGATE_PREVIOUS_VERSION" > ${file}`),
  };
  const router = { type: 'command', set: sh(`printf %s "$ROLLGATE_CANARY_WEIGHT" > ${dir}/weight`), get: sh(`cat ${dir}/weight 2>/dev/null || echo 0`) };
  const count = async () => {
    const reads = await lines(join(dir, 'reads'));
    return Object.fromEntries(hosts.map((h) => [h, reads.filter((r) => r === h).length]));
  };
  return { dir, target, router, count };
}

const fast = { verify: { interval: '10ms', timeout: '5s', failureThreshold: 1 } };

describe('reading what runs before a change', () => {
  it('blue-green on a fleet reads each host once before the candidate starts, and once more for the promotion', async () => {
    const hosts = ['a', 'b', 'c', 'd'];
    const f = await fleet(hosts);
    const { outcome } = await run({ target: f.target, router: f.router, strategy: { type: 'blue-green', scaleDownDelay: '0s' }, ...fast });
    expect(outcome.status).toBe('succeeded');
    // The plan's read serves the first step (what runs, the candidate's undo record, each deploy);
    // the promotion reads the one host it changes.
    expect(await f.count()).toEqual({ a: 1, b: 1, c: 1, d: 2 });
    // Each deploy was told what ran before it.
    expect((await lines(join(f.dir, 'deploys'))).sort()).toEqual(['a:v1', 'b:v1', 'c:v1', 'd:v1']);
    expect(outcome.journal.stages.web?.compensations.find((c) => c.op === 'candidate.remove')?.params.previous).toEqual({ version: 'v1', details: { hosts: 4 } });
  });

  it('a rollback reads again: it does not trust what the failed step saw', async () => {
    const hosts = ['a', 'b', 'c'];
    const f = await fleet(hosts);
    await writeFile(join(f.dir, 'sick-v2'), '');
    // A fleet host whose health command fails may still be starting: verification waits for its timeout.
    const verify = { interval: '10ms', timeout: '300ms' };
    const { outcome, events } = await run({ target: f.target, router: f.router, strategy: { type: 'blue-green', scaleDownDelay: '0s' }, verify });
    expect(outcome.status).toBe('rolled-back');
    expect(events.find((e) => e.kind === 'rollback.finished')).toMatchObject({ complete: true, remaining: [] });
    // Plan: every host; rollback: the candidate hosts a and b, before each is put back.
    expect(await f.count()).toEqual({ a: 2, b: 2, c: 1 });
    expect((await lines(join(f.dir, 'reverts'))).sort()).toEqual(['a:v1', 'b:v1']);
  });

  it('a progressive wave reads each unit once before it deploys it', async () => {
    const hosts = ['a', 'b', 'c', 'd'];
    const f = await fleet(hosts);
    const { outcome } = await run({ target: f.target, strategy: { type: 'progressive', waves: [1, 4], maxParallel: 2 }, ...fast });
    expect(outcome.status).toBe('succeeded');
    expect(await f.count()).toEqual({ a: 1, b: 1, c: 1, d: 1 });
    expect((await lines(join(f.dir, 'deploys'))).sort()).toEqual(['a:v1', 'b:v1', 'c:v1', 'd:v1']);
  });

  it('a command target reads `current` once for a direct deploy, and a retried attempt reads again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-reads-'));
    await writeFile(join(dir, 'version'), 'v1');
    const target = {
      type: 'command',
      current: sh(`echo read >> ${dir}/reads; cat ${dir}/version`),
      // The first attempt fails after it changed the version: the retry must see v2-partial.
      deploy: sh(
        `echo "$ROLLGATE_PREVIOUS_VERSION" >> ${dir}/deploys; if [ ! -e ${dir}/tried ]; then touch ${dir}/tried; printf v2-partial > ${dir}/version; exit 75; fi; printf %s "$ROLLGATE_VERSION" > ${dir}/version`,
      ),
      revert: sh(`printf %s "$ROLLGATE_PREVIOUS_VERSION" > ${dir}/version`),
      retryOn: { exitCodes: [75] },
    };
    const { outcome } = await run({ target, retry: { attempts: 2, initialDelay: '10ms' } });
    expect(outcome.status).toBe('succeeded');
    expect(await lines(join(dir, 'reads'))).toEqual(['read', 'read']);
    expect(await lines(join(dir, 'deploys'))).toEqual(['v1', 'v2-partial']);
  });
});
