import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../model/events.js';
import type { RunJournal } from '../model/journal.js';
import { loadTestWorkflow } from '../testing/workflows.js';
import { groupAlive, PROCESS_TOKEN_VAR } from '../util/process-scan.js';
import { createRealClock } from '../clocks/real.js';
import { MemoryRunStore } from './memory-run-store.js';
import { openSession } from './open-session.js';
import { stopOrphanedCommands } from './orphans.js';
import { recoverCrashed } from './resume.js';
import { runWorkflow } from './executor.js';
import type { RunSession } from './run-session.js';

/*
 * What a resumed run does with the commands a dead rollgate left running: found by the token in
 * their environment (or, without /proc, by the groups the journal recorded), stopped before any
 * undo; a stage whose command cannot be stopped is left for a person.
 */

const DEAD_TOKEN = 'deadbeefdeadbeefdeadbeef';
const spawned: number[] = [];
afterEach(() => {
  for (const pid of spawned.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** A detached command, as the dead run would have left it (its token in the environment). */
async function orphan(env: Record<string, string> = { [PROCESS_TOKEN_VAR]: DEAD_TOKEN, ROLLGATE_STAGE: 'web' }): Promise<number> {
  const child = spawn('sh', ['-c', 'echo up; sleep 60'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.unref();
  spawned.push(child.pid as number);
  return child.pid as number;
}

/** A session over the journal of a run whose process died mid-deploy of stage web. */
async function crashedSession(edit: (journal: RunJournal) => void = () => {}): Promise<{ session: RunSession; events: RunEvent[] }> {
  const loaded = loadTestWorkflow({
    environments: { prod: {} },
    stages: [{ name: 'web', environment: 'prod', approval: { type: 'manual' }, target: { type: 'command', deploy: ['true'], revert: ['true'] } }],
  });
  const store = new MemoryRunStore();
  await runWorkflow({ loaded, store, context: { actor: 'a', ci: 'local' }, env: {} });
  const journal = (await store.load()) as RunJournal;
  journal.status = 'running';
  journal.workers = [{ token: DEAD_TOKEN, pid: 1, host: hostname(), startedAt: '2026-01-01T00:00:00Z' }];
  const web = journal.stages.web as RunJournal['stages'][string];
  web.status = 'running';
  web.compensations = [{ id: 'target.revert:', stepId: 'deploy', description: 'revert web', op: 'target.revert', params: { previous: null, version: 'v2' }, status: 'pending', attempts: 0 }];
  edit(journal);
  const events: RunEvent[] = [];
  const { session, sinks } = openSession({ loaded, store, context: { actor: 'b', ci: 'local' }, subscribers: [(e) => events.push(e)] }, journal, createRealClock(), (t) => t, {});
  await sinks.ready;
  return { session, events };
}

describe('stopOrphanedCommands', () => {
  it('finds a dead run’s command by the token in its environment and stops it, whatever group it is in', async () => {
    const pid = await orphan();
    const { session, events } = await crashedSession();
    const left = await stopOrphanedCommands(session);
    expect(left.size).toBe(0);
    expect(groupAlive(pid)).toBe(false);
    const decision = events.find((e) => e.kind === 'decision.made');
    expect(decision).toMatchObject({ stage: 'web', decision: 'stop orphaned commands' });
    expect(decision?.kind === 'decision.made' && decision.reason).toMatch(new RegExp(`1 command\\(s\\) still ran: pid \\d+ \\(process group ${pid}\\); stopped them before undoing anything`));
    expect(session.journal.processes).toEqual([]);
  });

  it('without /proc, stops the groups the journal recorded on this machine, and names those recorded on another', async () => {
    const pid = await orphan({});
    const { session, events } = await crashedSession((j) => {
      j.processes = [
        { pgid: pid, host: hostname(), stage: 'web', step: 'deploy', command: 'deploy command of stage web', startedAt: '2026-01-01T00:00:00Z' },
        { pgid: 4242, host: 'runner-9', stage: 'web', step: 'deploy', command: 'deploy command of stage web', startedAt: '2026-01-01T00:00:00Z' },
        { pgid: 2 ** 22 + 3, host: hostname(), stage: 'web', step: 'verify', command: 'health command of stage web', startedAt: '2026-01-01T00:00:00Z' },
      ];
    });
    const left = await stopOrphanedCommands(session, { procRoot: '/no/proc/here' });
    expect(left.size).toBe(0);
    expect(groupAlive(pid)).toBe(false);
    const reasons = events.flatMap((e) => (e.kind === 'decision.made' ? [`${e.decision}: ${e.reason}`] : []));
    expect(reasons).toEqual([
      `stop orphaned commands: the rollgate process that ran this stage died while 1 command(s) still ran: deploy command of stage web (process group ${pid}); stopped them before undoing anything`,
      `orphaned command not checked: deploy command of stage web (process group 4242) was started on runner-9, not on this machine (${hostname()}), so rollgate cannot tell whether it still runs; a CI runner that died usually took it with it`,
    ]);
  });

  it('names a command found by its token after the record the journal kept of it, when it has one', async () => {
    const pid = await orphan({ [PROCESS_TOKEN_VAR]: DEAD_TOKEN });
    const { session, events } = await crashedSession((j) => {
      j.processes = [{ pgid: pid, host: hostname(), stage: 'web', step: 'deploy', command: 'deploy command of stage web', startedAt: '2026-01-01T00:00:00Z' }];
    });
    await stopOrphanedCommands(session);
    const decision = events.find((e) => e.kind === 'decision.made');
    expect(decision?.kind === 'decision.made' && decision.stage).toBe('web');
    expect(decision?.kind === 'decision.made' && decision.reason).toContain(`deploy command of stage web (process group ${pid})`);
  });

  it('reports, per stage, the commands that would not stop', async () => {
    const pid = await orphan();
    const { session } = await crashedSession();
    const left = await stopOrphanedCommands(session, { stop: async (groups) => ({ stopped: [], survivors: groups }) });
    // The shell and its sleep are one group: one line for it.
    expect(left.get('web')).toEqual([expect.stringMatching(new RegExp(`^pid \\d+ \\(process group ${pid}\\) still runs after SIGKILL on ${hostname()}$`))]);
  });
});

describe('recoverCrashed', () => {
  it('leaves a stage whose command cannot be stopped for a person, without undoing anything', async () => {
    await orphan();
    const { session, events } = await crashedSession();
    await recoverCrashed(session, { stop: async (groups) => ({ stopped: [], survivors: groups }) });
    const web = session.journal.stages.web;
    expect(web?.status).toBe('manual-intervention-required');
    expect(web?.message).toMatch(/^not rolled back: .*still runs after SIGKILL on /);
    expect(web?.compensations[0]?.status).toBe('pending');
    const manual = events.find((e) => e.kind === 'manual-intervention.required');
    expect(manual?.kind === 'manual-intervention.required' && manual.instructions).toEqual([
      expect.stringMatching(/^stop .* by hand$/),
      `then run: rollgate resume --state memory (it rolls the stage back)`,
    ]);
    expect(events.some((e) => e.kind === 'rollback.started')).toBe(false);
  });
});
