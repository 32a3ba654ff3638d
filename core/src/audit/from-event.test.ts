import { describe, expect, it } from 'vitest';
import { EVENT_KINDS, type RunEvent, type RunEventBody } from '../model/events.js';
import type { ProbeSnapshot } from '../model/results.js';
import { describeEvent } from '../notifiers/describe.js';
import { AUDIT_FORMAT, type AuditContext, type UnsealedEntry } from './entry.js';
import { toAuditEntry } from './from-event.js';

const ctx: AuditContext = {
  workflow: 'web',
  context: { actor: 'alice', ci: 'github', repository: 'acme/web', runUrl: 'https://ci/run/7', commit: 'abc123', ref: 'refs/heads/main' },
  environments: { canary: 'production', web: 'staging' },
};

const at = (body: RunEventBody, seq = 7): RunEvent => ({ seq, time: '2026-01-01T00:00:00.000Z', runId: 'web-1', ...body }) as RunEvent;

const snapshot: ProbeSnapshot = { api: { ok: true, value: 200, latencyMs: 3, details: { status: 200 } } };
const change = { object: 'service/web', field: 'version', before: 'v1', after: 'v2' };

type Expected = Pick<UnsealedEntry, 'outcome'> & Partial<Pick<UnsealedEntry, 'changes' | 'evidence' | 'approval' | 'stage' | 'step' | 'environment'>>;

/** Every event kind (some more than once, for each outcome it can have) and what its entry says. */
const table: [string, RunEventBody, Expected][] = [
  ['run.started', { kind: 'run.started', workflow: 'web', context: { actor: 'bob', ci: 'local' }, inputs: {}, resumed: false }, { outcome: 'info' }],
  ['run.finished succeeded', { kind: 'run.finished', status: 'succeeded', durationMs: 10 }, { outcome: 'succeeded' }],
  ['run.finished failed', { kind: 'run.finished', status: 'failed', durationMs: 10, message: 'boom' }, { outcome: 'failed' }],
  ['run.finished running', { kind: 'run.finished', status: 'running', durationMs: 10 }, { outcome: 'info' }],
  ['run.finished manual', { kind: 'run.finished', status: 'manual-intervention-required', durationMs: 1 }, { outcome: 'manual-intervention-required' }],
  ['run.paused', { kind: 'run.paused', stage: 'canary', gate: 'approval', message: 'waiting' }, { outcome: 'paused', stage: 'canary', environment: 'production' }],
  [
    'stage.started',
    { kind: 'stage.started', stage: 'web', environment: 'staging', strategy: 'direct', version: 'v2' },
    { outcome: 'info', stage: 'web', environment: 'staging' },
  ],
  ['stage.skipped without evidence', { kind: 'stage.skipped', stage: 'web', reason: 'needs failed' }, { outcome: 'skipped', stage: 'web' }],
  [
    'stage.skipped with evidence',
    { kind: 'stage.skipped', stage: 'web', reason: 'when is false', evidence: { condition: 'false', values: { a: 1 } } },
    { outcome: 'skipped', evidence: { condition: 'false', values: { a: 1 }, verdict: 'skip' } },
  ],
  ['stage.finished succeeded', { kind: 'stage.finished', stage: 'web', status: 'succeeded' }, { outcome: 'succeeded' }],
  ['stage.finished rolled-back', { kind: 'stage.finished', stage: 'web', status: 'rolled-back', message: 'bad' }, { outcome: 'rolled-back' }],
  ['stage.finished pending', { kind: 'stage.finished', stage: 'web', status: 'pending' }, { outcome: 'info' }],
  ['stage.finished running', { kind: 'stage.finished', stage: 'web', status: 'running' }, { outcome: 'info' }],
  ['stage.finished skipped', { kind: 'stage.finished', stage: 'web', status: 'skipped' }, { outcome: 'skipped' }],
  ['probes.measured in a stage', { kind: 'probes.measured', stage: 'web', snapshot }, { outcome: 'info', stage: 'web', evidence: { probes: snapshot } }],
  ['probes.measured before any stage', { kind: 'probes.measured', snapshot }, { outcome: 'info', evidence: { probes: snapshot } }],
  [
    'decision.made',
    { kind: 'decision.made', stage: 'web', decision: 'skip', reason: 'x', evidence: { condition: 'probes.api.ok', probes: snapshot } },
    { outcome: 'info', evidence: { condition: 'probes.api.ok', probes: snapshot, verdict: 'skip' } },
  ],
  ['step.started', { kind: 'step.started', stage: 'web', step: 'deploy', action: 'deploy v2', attempt: 1 }, { outcome: 'info', step: 'deploy' }],
  ['step.retrying', { kind: 'step.retrying', stage: 'web', step: 'deploy', attempt: 2, delayMs: 100, error: 'e' }, { outcome: 'info', step: 'deploy' }],
  ['step.succeeded', { kind: 'step.succeeded', stage: 'web', step: 'deploy', durationMs: 5 }, { outcome: 'succeeded', step: 'deploy' }],
  ['step.failed', { kind: 'step.failed', stage: 'web', step: 'deploy', error: 'e', errorKind: 'ProviderError' }, { outcome: 'failed', step: 'deploy' }],
  ['step.output', { kind: 'step.output', stage: 'web', step: 'deploy', stream: 'stderr', line: 'x' }, { outcome: 'info', step: 'deploy' }],
  ['infra.changed', { kind: 'infra.changed', stage: 'web', step: 'deploy', change }, { outcome: 'info', changes: [change] }],
  [
    'weight.changed',
    { kind: 'weight.changed', stage: 'canary', from: 10, to: 50 },
    { outcome: 'info', changes: [{ object: 'traffic/canary', field: 'weight', before: 10, after: 50 }] },
  ],
  [
    'analysis.measured succeeded',
    { kind: 'analysis.measured', stage: 'canary', metric: 'errors', value: 0.01, condition: 'result < 0.02', verdict: 'succeeded' },
    { outcome: 'succeeded', evidence: { condition: 'result < 0.02', values: { metric: 'errors', value: 0.01 }, verdict: 'succeeded' } },
  ],
  [
    'analysis.measured failed',
    { kind: 'analysis.measured', stage: 'canary', metric: 'errors', value: 0.3, unit: 'ratio', condition: 'result < 0.02', verdict: 'failed' },
    { outcome: 'failed', evidence: { condition: 'result < 0.02', values: { metric: 'errors', value: 0.3, unit: 'ratio' }, verdict: 'failed' } },
  ],
  [
    'a measurement with the query it sent',
    { kind: 'analysis.measured', stage: 'canary', metric: 'errors', value: 0.3, query: 'rate(e{v="v2"}[1m])', condition: 'result < 0.02', verdict: 'failed' },
    { outcome: 'failed', evidence: { condition: 'result < 0.02', values: { metric: 'errors', value: 0.3, query: 'rate(e{v="v2"}[1m])' }, verdict: 'failed' } },
  ],
  [
    'analysis.measured errored',
    { kind: 'analysis.measured', stage: 'canary', metric: 'errors', value: null, condition: 'c', verdict: 'errored', message: 'no data' },
    { outcome: 'failed', evidence: { condition: 'c', values: { metric: 'errors', value: null, reason: 'no data' }, verdict: 'errored' } },
  ],
  [
    'analysis.measured inconclusive',
    { kind: 'analysis.measured', stage: 'canary', metric: 'errors', value: 0.02, condition: 'c', verdict: 'inconclusive' },
    { outcome: 'info', evidence: { condition: 'c', values: { metric: 'errors', value: 0.02 }, verdict: 'inconclusive' } },
  ],
  ['approval.requested', { kind: 'approval.requested', stage: 'canary', gate: 'go', approver: 'manual' }, { outcome: 'info' }],
  [
    'approval.decided approved',
    { kind: 'approval.decided', stage: 'canary', gate: 'go', decision: { status: 'approved', by: 'carol', comment: 'ok', at: '2026-01-01T00:00:00Z' } },
    { outcome: 'succeeded', approval: { status: 'approved', by: 'carol', comment: 'ok', at: '2026-01-01T00:00:00Z', gate: 'go' } },
  ],
  [
    'approval.decided rejected',
    { kind: 'approval.decided', stage: 'canary', gate: 'go', decision: { status: 'rejected', by: 'dave' } },
    { outcome: 'failed', approval: { status: 'rejected', by: 'dave', gate: 'go' } },
  ],
  [
    'approval.decided pending',
    { kind: 'approval.decided', stage: 'canary', gate: 'go', decision: { status: 'pending' } },
    { outcome: 'paused', approval: { status: 'pending', gate: 'go' } },
  ],
  ['rollback.started', { kind: 'rollback.started', stage: 'web', reason: 'bad', steps: 2 }, { outcome: 'info' }],
  ['rollback.step ok', { kind: 'rollback.step', stage: 'web', compensation: 'put v1 back', ok: true }, { outcome: 'succeeded' }],
  ['rollback.step failed', { kind: 'rollback.step', stage: 'web', compensation: 'put v1 back', ok: false, error: 'e' }, { outcome: 'failed' }],
  ['rollback.finished complete', { kind: 'rollback.finished', stage: 'web', complete: true, remaining: [] }, { outcome: 'rolled-back' }],
  [
    'rollback.finished incomplete',
    { kind: 'rollback.finished', stage: 'web', complete: false, remaining: ['x'] },
    { outcome: 'manual-intervention-required', evidence: { values: { remaining: ['x'] } } },
  ],
  [
    'manual-intervention.required',
    { kind: 'manual-intervention.required', stage: 'web', remaining: ['x'], instructions: ['do y'] },
    { outcome: 'manual-intervention-required', evidence: { values: { remaining: ['x'], instructions: ['do y'] } } },
  ],
  [
    'notifier.failed',
    { kind: 'notifier.failed', notifier: 'slack', destination: '#deploys', error: 'channel_not_found', undelivered: 3 },
    { outcome: 'info', evidence: { values: { notifier: 'slack', destination: '#deploys', error: 'channel_not_found', undelivered: 3 } } },
  ],
];


describe('toAuditEntry', () => {
  it('has a row for every event kind', () => {
    expect(new Set(table.map(([, body]) => body.kind))).toEqual(new Set(EVENT_KINDS));
  });

  it.each(table)('%s', (_name, body, expected) => {
    const event = at(body);
    const entry = toAuditEntry(event, ctx);
    expect(entry).toMatchObject({
      format: AUDIT_FORMAT,
      ts: '2026-01-01T00:00:00.000Z',
      runId: 'web-1',
      eventSeq: 7,
      workflow: 'web',
      kind: body.kind,
      message: describeEvent(event),
      changes: expected.changes ?? [],
      ...expected,
    });
    expect(entry.outcome).toBe(expected.outcome);
    expect(entry.changes).toEqual(expected.changes ?? []);
    if (expected.evidence) expect(entry.evidence).toEqual(expected.evidence);
    else expect('evidence' in entry).toBe(false);
    if (expected.approval) expect(entry.approval).toEqual(expected.approval);
    else expect('approval' in entry).toBe(false);
    // Who and where: the stage's environment from the context; nothing for run-wide events.
    const stage = 'stage' in body ? body.stage : undefined;
    expect(entry.stage).toBe(stage);
    expect(entry.environment).toBe(stage ? ctx.environments[stage] : undefined);
    expect(entry.step).toBe('step' in body ? body.step : undefined);
    expect(entry.actor).toBe(body.kind === 'run.started' ? body.context.actor : 'alice');
  });

  it('copies the CI context, and leaves out what the CI did not say', () => {
    const full = toAuditEntry(at({ kind: 'run.finished', status: 'succeeded', durationMs: 1 }), ctx);
    expect(full.ci).toEqual({ platform: 'github', repository: 'acme/web', runUrl: 'https://ci/run/7', commit: 'abc123', ref: 'refs/heads/main' });
    const bare = toAuditEntry(at({ kind: 'run.finished', status: 'succeeded', durationMs: 1 }), { ...ctx, context: { actor: 'bot', ci: 'local' } });
    expect(bare.ci).toEqual({ platform: 'local' });
    expect(bare.actor).toBe('bot');
    // The CI job with its number and the pull request, when the platform names them.
    const jenkins = { actor: 'alice', ci: 'jenkins' as const, job: 'web/PR-42 #7', change: 'PR-42' };
    expect(toAuditEntry(at({ kind: 'run.finished', status: 'succeeded', durationMs: 1 }), { ...ctx, context: jenkins }).ci).toEqual({
      platform: 'jenkins',
      job: 'web/PR-42 #7',
      change: 'PR-42',
    });
  });

  it('names no environment for a stage the context does not know', () => {
    const entry = toAuditEntry(at({ kind: 'stage.finished', stage: 'other', status: 'succeeded' }), ctx);
    expect(entry.stage).toBe('other');
    expect('environment' in entry).toBe(false);
  });

  it('takes the environment of a stage.started event when its stage has no name to look up', () => {
    // Only reachable with an empty stage name: the lookup above wins for every real stage.
    const entry = toAuditEntry(at({ kind: 'stage.started', stage: '', environment: 'staging', strategy: 'direct', version: 'v2' }), ctx);
    expect(entry.environment).toBe('staging');
    expect('stage' in entry).toBe(false);
  });

  it('records a simulated run at the real time, keeping the virtual time beside it as simTime', () => {
    const decided: RunEventBody = { kind: 'approval.decided', stage: 'canary', gate: 'go', decision: { status: 'approved', by: 'carol' } };
    // Approved at 13:17 by the wall clock, while the simulated clock read 13:23.
    const simulated = toAuditEntry({ ...at(decided), time: '2026-01-01T13:23:00.000Z', wallTime: '2026-01-01T13:17:00.000Z' }, ctx);
    expect(simulated).toMatchObject({ ts: '2026-01-01T13:17:00.000Z', simTime: '2026-01-01T13:23:00.000Z' });
    // A run on the real clock has one time, and no simTime.
    const real = toAuditEntry(at(decided), ctx);
    expect(real.ts).toBe('2026-01-01T00:00:00.000Z');
    expect('simTime' in real).toBe(false);
  });
});
