import type { RunEvent, RunEventBody } from '../../model/events.js';

const bodies: RunEventBody[] = [
  { kind: 'run.started', workflow: 'web', context: { actor: 'alice', ci: 'local' }, inputs: { version: 'v2' }, resumed: false },
  { kind: 'stage.started', stage: 'web', environment: 'production', strategy: 'canary', version: 'v2', steps: 4, url: 'https://web.example.com' },
  { kind: 'step.started', stage: 'web', step: 'deploy-canary', action: 'deploy-candidate', attempt: 1, index: 1 },
  { kind: 'infra.changed', stage: 'web', step: 'deploy-canary', change: { object: 'web', field: 'version', before: 'v1', after: 'v2' } },
  { kind: 'approval.requested', stage: 'web', gate: 'web', approver: 'manual', message: 'ship it?', version: 'v2', environment: 'production' },
  { kind: 'run.paused', stage: 'web', gate: 'web', message: 'waiting for approval' },
  { kind: 'approval.decided', stage: 'web', gate: 'web', decision: { status: 'approved', by: 'bob' } },
  { kind: 'weight.changed', stage: 'web', from: 0, to: 20 },
  { kind: 'analysis.measured', stage: 'web', metric: 'error-rate', value: 0.12, condition: 'result < 0.05', verdict: 'failed', unit: 'ratio' },
  { kind: 'step.output', stage: 'web', step: 'verify', stream: 'stderr', line: 'HTTP 500 from /checkout' },
  { kind: 'step.failed', stage: 'web', step: 'verify', error: 'error-rate 12% [result < 0.05] failed', errorKind: 'AnalysisFailedError' },
  { kind: 'rollback.started', stage: 'web', reason: 'error rate 12% > 5%', steps: 2 },
  { kind: 'rollback.finished', stage: 'web', complete: false, remaining: ['route/web'] },
  { kind: 'manual-intervention.required', stage: 'web', remaining: ['route/web'], instructions: ['send all traffic of web to v1'] },
  { kind: 'stage.finished', stage: 'web', status: 'rolled-back', message: 'error rate too high' },
  { kind: 'run.finished', status: 'rolled-back', durationMs: 61_000, message: 'web rolled back' },
];

/** A run's events from start to end, with one of each kind notifiers announce by default and the context they summarise. */
export function sampleEvents(runId = 'run-1'): RunEvent[] {
  return bodies.map((body, i) => ({ seq: i + 1, time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), runId, ...body }) as RunEvent);
}
