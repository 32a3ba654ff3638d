import type { RunEvent } from '../model/events.js';
import { formatDuration } from '../util/duration.js';
import { formatMeasured, plural } from '../util/format-number.js';

/** One human sentence per event; shared by notifiers and the console reporter. */
export function describeEvent(e: RunEvent): string {
  switch (e.kind) {
    case 'run.started':
      return `run ${e.runId} of ${e.workflow} ${e.resumed ? 'resumed' : 'started'} by ${e.context.actor}`;
    case 'run.finished':
      return `run ${e.runId} ${e.status}${e.message ? `: ${e.message}` : ''}`;
    case 'run.paused':
      return `run paused at ${e.stage}/${e.gate}: ${e.message}`;
    case 'stage.started':
      return `stage ${e.stage} started: ${e.version} to ${e.environment} (${e.strategy})`;
    case 'stage.skipped':
      return `stage ${e.stage} skipped: ${e.reason}`;
    case 'stage.finished':
      return `stage ${e.stage} ${e.status}${e.message ? `: ${e.message}` : ''}`;
    case 'probes.measured':
      return `probes: ${Object.entries(e.snapshot)
        .map(([n, r]) => `${n}=${r.ok ? 'ok' : 'FAIL'}${r.value !== null ? `(${String(r.value)})` : ''}`)
        .join(' ')}`;
    case 'decision.made':
      return `${e.stage}: ${e.decision} because ${e.reason}`;
    case 'step.started':
      return `${e.stage}/${e.step}: ${e.action}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`;
    case 'step.retrying':
      return `${e.stage}/${e.step}: retrying in ${formatDuration(e.delayMs)} after: ${e.error}`;
    case 'step.succeeded':
      return `${e.stage}/${e.step}: done${e.message ? ` (${e.message})` : ''}`;
    case 'step.failed':
      return `${e.stage}/${e.step}: failed: ${e.error}`;
    case 'step.output':
      return `${e.stage}/${e.step} | ${e.line}`;
    case 'infra.changed':
      return `${e.stage}: ${e.change.object} ${e.change.field} ${fmt(e.change.before)} -> ${fmt(e.change.after)}`;
    case 'weight.changed':
      return `${e.stage}: weight ${e.from}% -> ${e.to}%`;
    case 'analysis.measured':
      return `${e.stage}: ${e.metric}=${formatMeasured(e.value, e.unit)} [${e.condition}] ${e.verdict}`;
    case 'approval.requested':
      return `${e.stage}: approval needed (${e.gate}, ${e.approver})${e.version ? ` for ${e.version}${e.environment ? ` to ${e.environment}` : ''}` : ''}${e.message ? `: ${e.message}` : ''}`;
    case 'approval.decided':
      return `${e.stage}: ${e.decision.status} by ${e.decision.by ?? 'unknown'}${e.decision.comment ? `: ${e.decision.comment}` : ''}`;
    case 'rollback.started':
      return `${e.stage}: rolling back (${plural(e.steps, 'step')}) because ${e.reason}`;
    case 'rollback.step':
      return `${e.stage}: undo ${e.compensation} ${e.ok ? 'done' : `FAILED: ${e.error ?? ''}`}`;
    case 'rollback.finished':
      return `${e.stage}: rollback ${e.complete ? 'complete' : `INCOMPLETE, left: ${e.remaining.join('; ')}`}`;
    case 'manual-intervention.required':
      return `${e.stage}: MANUAL INTERVENTION REQUIRED: ${e.remaining.join('; ')}`;
    case 'notifier.failed':
      return `notifier ${e.notifier} (${e.destination}) is failing: ${e.error}; ${plural(e.undelivered, 'message')} not delivered`;
  }
}

function fmt(v: unknown): string {
  if (v === undefined || v === null) return '(none)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}
