import type { RunEvent, RunEventBody } from '../../model/events.js';

const bodies: RunEventBody[] = [
  { kind: 'run.started', workflow: 'web', context: { actor: 'alice', ci: 'local' }, inputs: { version: 'v2' }, resumed: false },
  { kind: 'stage.started', stage: 'web', environment: 'production', strategy: 'canary', version: 'v2' },
  { kind: 'approval.requested', stage: 'web', gate: 'web', approver: 'manual', message: 'ship it?', version: 'v2', environment: 'production' },
  { kind: 'run.paused', stage: 'web', gate: 'web', message: 'waiting for approval' },
  { kind: 'approval.decided', stage: 'web', gate: 'web', decision: { status: 'approved', by: 'bob' } },
  { kind: 'weight.changed', stage: 'web', from: 0, to: 20 },
  { kind: 'rollback.started', stage: 'web', reason: 'error rate 12% > 5%', steps: 2 },
  { kind: 'rollback.finished', stage: 'web', complete: false, remaining: ['route/web'] },
  { kind: 'manual-intervention.required', stage: 'web', remaining: ['route/web'], instructions: ['send all traffic of web to v1'] },
  { kind: 'stage.finished', stage: 'web', status: 'rolled-back', message: 'error rate too high' },
  { kind: 'run.finished', status: 'rolled-back', durationMs: 61_000, message: 'web rolled back' },
];

/** The events a run tells people about, from start to end, one of each kind notifiers announce by default. */
export function sampleEvents(runId = 'run-1'): RunEvent[] {
  return bodies.map((body, i) => ({ seq: i + 1, time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), runId, ...body }) as RunEvent);
}
