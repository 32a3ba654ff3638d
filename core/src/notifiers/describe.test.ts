import { describe, expect, it } from 'vitest';
import { configSchema as consoleSchema } from './console.js';
import { eventFilter } from './filter.js';
import { MemoryProviderStates } from '../testing/state.js';
import type { RunEvent, RunEventBody } from '../model/events.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { create as createConsoleNotifier } from './console.js';
import { describeEvent } from './describe.js';
import { sampleNotifications } from '../testing/contracts/notifier.js';

const ev = (body: RunEventBody): RunEvent => ({ seq: 1, time: '2026-01-01T00:00:00.000Z', runId: 'r1', ...body }) as RunEvent;

describe('describeEvent', () => {
  it.each<[RunEventBody, string]>([
    [{ kind: 'run.started', workflow: 'web', context: { actor: 'al', ci: 'local' }, inputs: {}, resumed: false }, 'run r1 of web started by al'],
    [{ kind: 'run.started', workflow: 'web', context: { actor: 'al', ci: 'local' }, inputs: {}, resumed: true }, 'run r1 of web resumed by al'],
    [{ kind: 'run.finished', status: 'succeeded', durationMs: 5 }, 'run r1 succeeded'],
    [{ kind: 'run.finished', status: 'failed', durationMs: 5, message: 'web: failed' }, 'run r1 failed: web: failed'],
    [{ kind: 'run.paused', stage: 'prod', gate: 'approval-prod', message: 'approve' }, 'run paused at prod/approval-prod: approve'],
    [{ kind: 'stage.started', stage: 'web', environment: 'prod', strategy: 'direct', version: 'v2' }, 'stage web started: v2 to prod (direct)'],
    [{ kind: 'stage.skipped', stage: 'web', reason: 'when: x is false' }, 'stage web skipped: when: x is false'],
    [{ kind: 'stage.finished', stage: 'web', status: 'succeeded' }, 'stage web succeeded'],
    [{ kind: 'stage.finished', stage: 'web', status: 'rolled-back', message: 'bad' }, 'stage web rolled-back: bad'],
    [
      { kind: 'probes.measured', snapshot: { db: { ok: true, value: 'up', latencyMs: 1 }, cpu: { ok: false, value: null, latencyMs: 2, error: 'x' } } },
      'probes: db=ok(up) cpu=FAIL',
    ],
    [{ kind: 'decision.made', stage: 'web', decision: 'skip', reason: 'db down', evidence: {} }, 'web: skip because db down'],
    [{ kind: 'step.started', stage: 'web', step: 'deploy', action: 'deploy', attempt: 1 }, 'web/deploy: deploy'],
    [{ kind: 'step.started', stage: 'web', step: 'deploy', action: 'deploy', attempt: 2 }, 'web/deploy: deploy (attempt 2)'],
    [{ kind: 'step.retrying', stage: 'web', step: 'deploy', attempt: 2, delayMs: 900, error: '429' }, 'web/deploy: retrying in 900ms after: 429'],
    [{ kind: 'step.succeeded', stage: 'web', step: 'deploy', durationMs: 3 }, 'web/deploy: done'],
    [{ kind: 'step.succeeded', stage: 'web', step: 'deploy', durationMs: 3, message: 'v1 -> v2' }, 'web/deploy: done (v1 -> v2)'],
    [{ kind: 'step.failed', stage: 'web', step: 'verify', error: 'unhealthy', errorKind: 'AnalysisFailedError' }, 'web/verify: failed: unhealthy'],
    [{ kind: 'step.output', stage: 'web', step: 'deploy', stream: 'stdout', line: 'hello' }, 'web/deploy | hello'],
    [{ kind: 'infra.changed', stage: 'web', step: 'deploy', change: { object: 'svc', field: 'version', before: null, after: 'v2' } }, 'web: svc version (none) -> v2'],
    [{ kind: 'infra.changed', stage: 'web', step: 'deploy', change: { object: 'svc', field: 'nodes', before: ['a'], after: ['a', 'b'] } }, 'web: svc nodes ["a"] -> ["a","b"]'],
    [{ kind: 'weight.changed', stage: 'web', from: 10, to: 50 }, 'web: weight 10% -> 50%'],
    [{ kind: 'analysis.measured', stage: 'web', metric: 'errors', value: 0.2, condition: 'result < 0.05', verdict: 'failed' }, 'web: errors=0.2 [result < 0.05] failed'],
    [{ kind: 'analysis.measured', stage: 'web', metric: 'errors', value: null, condition: 'result < 0.05', verdict: 'inconclusive' }, 'web: errors=no data [result < 0.05] inconclusive'],
    [{ kind: 'approval.requested', stage: 'prod', gate: 'g', approver: 'manual' }, 'prod: approval needed (g, manual)'],
    [{ kind: 'approval.decided', stage: 'prod', gate: 'g', decision: { status: 'approved', by: 'al', comment: 'ok' } }, 'prod: approved by al: ok'],
    [{ kind: 'approval.decided', stage: 'prod', gate: 'g', decision: { status: 'rejected' } }, 'prod: rejected by unknown'],
    [{ kind: 'rollback.started', stage: 'web', reason: 'bad', steps: 1 }, 'web: rolling back (1 step) because bad'],
    [{ kind: 'rollback.started', stage: 'web', reason: 'bad', steps: 2 }, 'web: rolling back (2 steps) because bad'],
    [{ kind: 'rollback.step', stage: 'web', compensation: 'revert', ok: true }, 'web: undo revert done'],
    [{ kind: 'rollback.step', stage: 'web', compensation: 'revert', ok: false, error: 'e' }, 'web: undo revert FAILED: e'],
    [{ kind: 'rollback.step', stage: 'web', compensation: 'revert', ok: false }, 'web: undo revert FAILED: '],
    [{ kind: 'rollback.finished', stage: 'web', complete: true, remaining: [] }, 'web: rollback complete'],
    [{ kind: 'rollback.finished', stage: 'web', complete: false, remaining: ['a', 'b'] }, 'web: rollback INCOMPLETE, left: a; b'],
    [{ kind: 'manual-intervention.required', stage: 'web', remaining: ['a'], instructions: [] }, 'web: MANUAL INTERVENTION REQUIRED: a'],
  ])('%j', (body, text) => {
    expect(describeEvent(ev(body))).toBe(text);
  });
});

describe('console notifier', () => {
  const deps = (lines: string[]) => ({
    runId: 'r1',
    clock: createVirtualClock(0),
    log: { info: (l: string) => lines.push(l), warn: () => {}, output: () => {} },
    environment: 'prod',
    workDir: '/',
    secret: () => undefined,
    state: new MemoryProviderStates().handle('n'),
    shared: () => new MemoryProviderStates().handle('s'),
    settings: () => undefined,
    probe: () => Promise.reject(new Error('notifiers read no probes')),
  });

  it('prints the notification as a block: what, where, who, the values and the why, not the event line again', async () => {
    const lines: string[] = [];
    const n = createConsoleNotifier(consoleSchema.parse({ type: 'console' }), deps(lines));
    const [last] = sampleNotifications().slice(-1);
    await n.notify(last!.event, last!.message);
    const block = lines.join('\n');
    expect(block).toContain('── notification ──');
    expect(block).toContain('web: v1 → v2 to production (canary): rolled back');
    expect(block).toContain('✗ error-rate 12% [result < 0.05] failed');
    expect(block).toContain('| HTTP 500 from /checkout');
    expect(block).toContain("rollgate resume --resolved");
    expect(block).not.toContain('notify:');
  });
});

describe('the on filter every notifier shares', () => {
  const on = (input: unknown) => eventFilter(consoleSchema.parse({ type: 'console', ...(input === undefined ? {} : { on: input }) }).on);
  const finished = ev({ kind: 'run.finished', status: 'succeeded', durationMs: 1 });
  const output = ev({ kind: 'step.output', stage: 's', step: 'x', stream: 'stdout', line: 'l' });
  const rolledBack = ev({ kind: 'rollback.finished', stage: 's', complete: true, remaining: [] });

  it('wants the notifier’s default kinds, anywhere, when the workflow says nothing', () => {
    expect(on(undefined)(finished, undefined)).toBe(true);
    expect(on(undefined)(output, 'prod')).toBe(false);
  });

  it('takes a list of kinds, with prefixes such as rollback.*', () => {
    const wants = on(['weight.changed', 'rollback.*']);
    expect(wants(ev({ kind: 'weight.changed', stage: 's', from: 0, to: 5 }), 'prod')).toBe(true);
    expect(wants(rolledBack, 'prod')).toBe(true);
    expect(wants(finished, undefined)).toBe(false);
  });

  it('keeps to the environments it names; run-wide events always pass', () => {
    const wants = on({ kinds: ['rollback.finished', 'run.finished'], environments: ['production'] });
    expect(wants(rolledBack, 'production')).toBe(true);
    expect(wants(rolledBack, 'staging')).toBe(false);
    expect(wants(finished, undefined)).toBe(true);
    expect(on({ kinds: ['step.output'] })(output, 'staging')).toBe(true);
  });

  it('refuses an empty list of kinds', () => {
    expect(() => consoleSchema.parse({ type: 'console', on: [] })).toThrow();
  });

  it('refuses a kind that does not exist, naming the kinds that do', () => {
    expect(() => consoleSchema.parse({ type: 'console', on: ['run.finised'] })).toThrow(/'run\.finised' is not an event kind; use one of run\.started, /);
    expect(() => consoleSchema.parse({ type: 'console', on: ['deploy.*'] })).toThrow(/'deploy\.\*' is not an event kind/);
    expect(consoleSchema.parse({ type: 'console', on: ['rollback.*'] }).on.kinds).toEqual(['rollback.*']);
  });
});
