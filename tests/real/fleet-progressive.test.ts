import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createRealClock, FileRunStore, loadWorkflowFile, runWorkflow, type RunEvent } from '../../core/src/index.js';
import { ctlCommand, type LocalFleet, startLocalFleet } from './fleet/local-fleet.js';

/*
 * A progressive rollout over a fleet of 20 real processes (one HTTP server per host, on its own
 * port), through the public API on the real clock. Each host's deploy command replaces its server
 * with the new version; health is a GET of /health that must answer `ok <version>`. web-05's v2
 * fails its health check: with a failure budget of 0 the rollout stops in wave 2 and puts v1 back
 * on exactly the hosts it changed, while the others keep the very process they ran before.
 */

const BAD = 'web-05';
let dir: string;
let fleet: LocalFleet;
const before = new Map<string, number>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-fleet-e2e-'));
  fleet = await startLocalFleet(dir, 20, 'v1');
  fleet.markBad(BAD, 'v2');
  for (const host of fleet.hosts) before.set(host, (await fleet.probe(host))?.pid as number);
  await writeFile(join(dir, 'hosts.txt'), `# the web fleet, in rollout order\n${fleet.hosts.join('\n')}\n`);
});

afterAll(async () => {
  await fleet?.stop();
  await rm(dir, { recursive: true, force: true });
});

const command = ctlCommand;

function workflowText(): string {
  return stringify({
    version: 1,
    name: 'fleet-e2e',
    inputs: { version: { default: 'v2' } },
    environments: { production: {} },
    audit: { sinks: [{ type: 'file', dir: join(dir, 'audit') }] },
    stages: [
      {
        name: 'web',
        environment: 'production',
        target: {
          type: 'fleet',
          hostsFile: 'hosts.txt',
          current: command('current'),
          deploy: command('deploy'),
          health: command('health'),
          revert: command('revert'),
          concurrency: 4,
          timeout: '20s',
          checkTimeout: '5s',
        },
        // Wave 1: web-01..02; wave 2 brings 25% (5 hosts) up, three at a time: web-03..05.
        strategy: { type: 'progressive', waves: [2, '25%', '50%'], maxParallel: 3, maxUnavailable: 3, failureBudget: 0 },
      },
    ],
  });
}

describe('progressive rollout over 20 local host processes', () => {
  it('stops at the failure budget and reverts exactly the hosts it changed', async () => {
    const path = join(dir, 'rollgate.yml');
    await writeFile(path, workflowText());
    const loaded = await loadWorkflowFile(path);
    const events: RunEvent[] = [];
    const callsBefore = fleet.calls().length;
    const store = new FileRunStore(join(dir, 'journal.json'));
    const outcome = await runWorkflow({
      loaded,
      store,
      context: { actor: 'alice', ci: 'local' },
      clock: createRealClock(),
      env: { PATH: process.env.PATH ?? '', FLEET_DIR: dir },
      subscribers: [(e) => events.push(e)],
    });

    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    const of = <K extends RunEvent['kind']>(kind: K) => events.filter((e): e is Extract<RunEvent, { kind: K }> => e.kind === kind);
    expect(of('step.succeeded').map((e) => e.step)).toEqual(['wave-1']);
    const failed = of('step.failed');
    expect(failed.map((e) => e.step)).toEqual(['wave-2']);
    expect(failed[0]?.errorKind).toBe('AnalysisFailedError');
    expect(failed[0]?.error).toBe(
      `failure budget exceeded: 1 unit(s) failed, budget 0: ${BAD}: health command exited with code 1: ${BAD}: GET /health answered 503 'failing v2', expected 200 'ok v2'`,
    );

    // Wave 2 started all three of its hosts at once: the five hosts changed are web-01..05.
    const changed = ['web-01', 'web-02', 'web-03', 'web-04', BAD];
    // The journal on disk, as a later `rollgate resume` would read it.
    const journal = await store.load();
    expect(journal?.status).toBe('rolled-back');
    const undos = journal?.stages.web?.compensations ?? [];
    expect(undos.map((c) => [c.op, c.params.unit, c.params.previous, c.status])).toEqual(changed.map((h) => ['unit.revert', h, 'v1', 'done']));
    const reverted = of('rollback.step');
    expect(reverted.every((e) => e.ok)).toBe(true);
    expect(reverted.map((e) => e.compensation).sort()).toEqual(changed.map((h) => `put v1 back on ${h}`));
    expect(of('rollback.finished')).toEqual([expect.objectContaining({ complete: true, remaining: [] })]);

    // What the events say changed, forward and back: v2 on the changed hosts, then v1 again.
    const rollbackAt = of('rollback.started')[0]?.seq ?? Infinity;
    const changes = of('infra.changed');
    const forward = changes.filter((e) => e.seq < rollbackAt).map((e) => e.change);
    const backward = changes.filter((e) => e.seq > rollbackAt).map((e) => e.change);
    expect(forward.every((c) => c.before === 'v1' && c.after === 'v2' && changed.includes(c.object.slice('host/'.length)))).toBe(true);
    expect(forward.map((c) => c.object)).toEqual(expect.arrayContaining(['host/web-01', 'host/web-02', `host/${BAD}`]));
    expect(backward.every((c) => c.after === 'v1')).toBe(true);
    expect(backward.map((c) => c.object).sort()).toEqual(forward.map((c) => c.object).sort());

    // The processes: every host serves v1 again; no command ever changed a host outside web-01..05,
    // and those keep the very server process they had before the run.
    const calls = fleet.calls().slice(callsBefore);
    const touched = new Set(calls.filter(([action]) => action === 'deploy' || action === 'revert').map(([, host]) => host));
    expect([...touched].every((h) => changed.includes(h as string))).toBe(true);
    expect(calls.filter(([action]) => action === 'deploy').every(([, , version]) => version === 'v2')).toBe(true);
    for (const host of fleet.hosts) {
      const now = await fleet.probe(host);
      expect({ host, status: now?.status, body: now?.body }).toEqual({ host, status: 200, body: 'ok v1' });
      if (!changed.includes(host)) expect({ host, pid: now?.pid }).toEqual({ host, pid: before.get(host) });
    }
  });
});
