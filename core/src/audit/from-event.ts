import type { RunEvent } from '../model/events.js';
import { describeEvent } from '../notifiers/describe.js';
import type { AuditContext, AuditOutcome, UnsealedEntry } from './entry.js';
import { AUDIT_FORMAT } from './entry.js';

/** Turns one run event into the audit trail's shape: who, where, what changed, and why. */
export function toAuditEntry(event: RunEvent, ctx: AuditContext): UnsealedEntry {
  const stage = 'stage' in event ? event.stage : undefined;
  const step = 'step' in event ? event.step : undefined;
  const environment = stage ? ctx.environments[stage] : event.kind === 'stage.started' ? event.environment : undefined;
  const { context } = ctx;
  return {
    format: AUDIT_FORMAT,
    // A person approving, or a real system answering, did so at a real moment: `ts` is always
    // wall time, and a simulated run's virtual time is kept beside it, marked as such.
    ts: event.wallTime ?? event.time,
    ...(event.wallTime ? { simTime: event.time } : {}),
    runId: event.runId,
    eventSeq: event.seq,
    workflow: ctx.workflow,
    ...(environment ? { environment } : {}),
    ...(stage ? { stage } : {}),
    ...(step ? { step } : {}),
    actor: event.kind === 'run.started' ? event.context.actor : context.actor,
    ci: {
      platform: context.ci,
      ...(context.repository ? { repository: context.repository } : {}),
      ...(context.runUrl ? { runUrl: context.runUrl } : {}),
      ...(context.commit ? { commit: context.commit } : {}),
      ...(context.ref ? { ref: context.ref } : {}),
      ...(context.job ? { job: context.job } : {}),
      ...(context.change ? { change: context.change } : {}),
    },
    kind: event.kind,
    outcome: outcomeOf(event),
    message: describeEvent(event),
    changes: changesOf(event),
    ...evidenceOf(event),
    ...(event.kind === 'approval.decided' ? { approval: { ...event.decision, gate: event.gate } } : {}),
  };
}

function outcomeOf(e: RunEvent): AuditOutcome {
  switch (e.kind) {
    case 'run.finished':
      return e.status === 'running' ? 'info' : e.status;
    case 'stage.finished':
      return e.status === 'pending' || e.status === 'running' ? 'info' : e.status;
    case 'stage.skipped':
      return 'skipped';
    case 'run.paused':
      return 'paused';
    case 'step.succeeded':
      return 'succeeded';
    case 'step.failed':
      return 'failed';
    case 'rollback.step':
      return e.ok ? 'succeeded' : 'failed';
    case 'rollback.finished':
      return e.complete ? 'rolled-back' : 'manual-intervention-required';
    case 'manual-intervention.required':
      return 'manual-intervention-required';
    case 'approval.decided':
      return e.decision.status === 'approved' ? 'succeeded' : e.decision.status === 'rejected' ? 'failed' : 'paused';
    case 'analysis.measured':
      return e.verdict === 'succeeded' ? 'succeeded' : e.verdict === 'failed' || e.verdict === 'errored' ? 'failed' : 'info';
    default:
      return 'info';
  }
}

function changesOf(e: RunEvent): UnsealedEntry['changes'] {
  if (e.kind === 'infra.changed') return [e.change];
  if (e.kind === 'weight.changed') return [{ object: `traffic/${e.stage}`, field: 'weight', before: e.from, after: e.to }];
  return [];
}

function evidenceOf(e: RunEvent): Pick<UnsealedEntry, 'evidence'> {
  if (e.kind === 'decision.made') return { evidence: { ...e.evidence, verdict: e.decision } };
  if (e.kind === 'stage.skipped' && e.evidence) return { evidence: { ...e.evidence, verdict: 'skip' } };
  if (e.kind === 'probes.measured') return { evidence: { probes: e.snapshot } };
  if (e.kind === 'manual-intervention.required') return { evidence: { values: { remaining: e.remaining, instructions: e.instructions } } };
  if (e.kind === 'rollback.finished' && !e.complete) return { evidence: { values: { remaining: e.remaining } } };
  if (e.kind === 'notifier.failed') return { evidence: { values: { notifier: e.notifier, destination: e.destination, error: e.error, undelivered: e.undelivered } } };
  if (e.kind === 'analysis.measured') {
    return {
      evidence: {
        condition: e.condition,
        values: {
          metric: e.metric,
          value: e.value,
          ...(e.query !== undefined ? { query: e.query } : {}),
          ...(e.unit ? { unit: e.unit } : {}),
          ...(e.message ? { reason: e.message } : {}),
        },
        verdict: e.verdict,
      },
    };
  }
  return {};
}
