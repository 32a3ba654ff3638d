import type { RunEvent, RunStatus } from '../model/events.js';
import type { RunContext } from '../model/run-context.js';
import type { RunMessage, Severity, StageView } from '../model/run-message.js';
import { formatMeasured } from '../util/format-number.js';
import { describeEvent } from './describe.js';

/** Lines of command output kept per stage, for the why of a failure. */
const OUTPUT_LINES = 8;
/** Metrics shown per stage (the latest measurement of each). */
const METRICS = 12;

/** What the digest keeps, as JSON in the run journal, so a resumed job's messages carry the whole run. */
interface DigestState {
  runId: string;
  workflow: string;
  context: RunContext;
  status: RunStatus;
  stages: Record<string, StageView>;
  approval?: RunMessage['approval'];
  manual?: RunMessage['manual'];
  /** The last lines of output of the step in flight, per stage. */
  output: Record<string, string[]>;
  /** Steps each stage's strategy planned, for "step n of m". */
  planned: Record<string, number>;
}

/**
 * Builds the run's `RunMessage` from its events: every event is applied (cheap field updates),
 * the message is made only when a notifier needs it. Kept in the journal (`toJSON`), so the job
 * that resumes after a gate continues the same story, with what, where and who of the first job.
 */
export class MessageDigest {
  private readonly s: DigestState;

  constructor(kept?: unknown) {
    this.s = isState(kept) ? kept : { runId: '', workflow: '', context: { actor: 'unknown', ci: 'local' }, status: 'running', stages: {}, output: {}, planned: {} };
  }

  toJSON(): DigestState {
    return this.s;
  }

  apply(e: RunEvent): void {
    const s = this.s;
    s.runId = e.runId;
    const stage = 'stage' in e && e.stage ? s.stages[e.stage] : undefined;
    switch (e.kind) {
      case 'run.started':
        Object.assign(s, { workflow: e.workflow, context: e.context, status: 'running' });
        break;
      case 'run.finished':
        s.status = e.status;
        break;
      case 'run.paused':
        s.status = 'paused';
        // The engine's pause message names the exact command, with this run's journal.
        if (s.approval && s.approval.gate === e.gate) s.approval.how = `${e.message}${s.context.ci !== 'local' ? `, or approve the ${s.approval.environment ?? 'environment'} deployment in ${s.context.ci}` : ''}`;
        break;
      case 'stage.started': {
        const kept = s.stages[e.stage];
        s.stages[e.stage] = {
          analyses: [],
          ...kept,
          name: e.stage,
          environment: e.environment,
          strategy: e.strategy,
          version: e.version,
          status: 'running',
          ...(e.url ? { url: e.url } : {}),
        };
        if (e.steps !== undefined) s.planned[e.stage] = e.steps;
        delete s.approval;
        break;
      }
      case 'stage.skipped':
        s.stages[e.stage] = { ...(s.stages[e.stage] ?? blankStage(e.stage)), status: 'skipped', note: e.reason };
        break;
      case 'stage.finished':
        if (stage) Object.assign(stage, { status: e.status }, e.message ? { note: e.message } : {});
        break;
      case 'step.started':
        if (!stage) break;
        stage.step = { id: e.step, action: e.action, attempt: e.attempt, ...(e.index ? { index: e.index } : {}), ...(s.planned[e.stage] ? { of: s.planned[e.stage] } : {}) };
        s.output[e.stage] = [];
        break;
      case 'step.output':
        (s.output[e.stage] ??= []).push(e.line);
        if ((s.output[e.stage]?.length ?? 0) > OUTPUT_LINES) s.output[e.stage]?.shift();
        break;
      case 'step.failed':
        if (stage) stage.failure = { step: e.step, reason: e.error, output: [...(s.output[e.stage] ?? [])] };
        break;
      case 'infra.changed':
        if (stage && stage.from === undefined && e.change.field === 'version' && typeof e.change.before === 'string') stage.from = e.change.before;
        break;
      case 'weight.changed':
        if (stage) stage.weight = e.to;
        break;
      case 'analysis.measured': {
        if (!stage) break;
        const at = stage.analyses.findIndex((a) => a.metric === e.metric);
        const line = {
          metric: e.metric,
          value: formatMeasured(e.value, e.unit),
          condition: e.condition,
          verdict: e.verdict,
          count: (stage.analyses[at]?.count ?? 0) + 1,
          // A plain pass or fail is said by the value and the condition; the rest need the why.
          ...(e.message && (e.verdict === 'inconclusive' || e.verdict === 'errored') ? { note: e.message } : {}),
        };
        if (at >= 0) stage.analyses[at] = line;
        else if (stage.analyses.length < METRICS) stage.analyses.push(line);
        break;
      }
      case 'approval.requested':
        s.approval = {
          stage: e.stage,
          gate: e.gate,
          approver: e.approver,
          ...(e.message ? { message: e.message } : {}),
          ...(e.version ? { version: e.version } : {}),
          ...(e.environment ? { environment: e.environment } : {}),
          how: `an approver runs 'rollgate resume --approve' (or --reject) with this run's journal${s.context.ci !== 'local' ? `, or approves the ${e.environment ?? 'environment'} deployment in ${s.context.ci}` : ''}`,
        };
        break;
      case 'approval.decided':
        delete s.approval;
        if (s.status === 'paused') s.status = 'running';
        break;
      case 'rollback.started':
        if (stage) stage.rollback = { reason: e.reason, state: 'running', remaining: [] };
        break;
      case 'rollback.finished':
        if (stage) stage.rollback = { reason: stage.rollback?.reason ?? '', state: e.complete ? 'complete' : 'incomplete', remaining: e.remaining };
        break;
      case 'manual-intervention.required':
        s.manual = {
          stage: e.stage,
          remaining: e.remaining,
          instructions: e.instructions,
          how: `finish what is left by hand, then run 'rollgate resume --resolved "what you did"' with this run's journal`,
        };
        break;
      default:
        break;
    }
  }

  /** The message after `event` (already applied). */
  message(event: RunEvent): RunMessage {
    const s = this.s;
    const stages = Object.values(s.stages);
    const links = [
      ...(s.context.runUrl ? [{ label: s.context.job ?? 'CI run', url: s.context.runUrl }] : []),
      ...(s.context.commitUrl && s.context.commit ? [{ label: `commit ${s.context.commit.slice(0, 7)}`, url: s.context.commitUrl }] : []),
      ...stages.filter((st) => st.url).map((st) => ({ label: st.environment, url: st.url as string })),
    ];
    return {
      runId: s.runId,
      workflow: s.workflow,
      status: s.status,
      severity: severityOf(s),
      title: titleOf(s),
      text: describeEvent(event),
      context: { ...s.context },
      links: dedupe(links),
      stages: stages.map((st) => structuredClone(st)),
      // Copies: the message is delivered later, after the digest has moved on.
      ...(s.approval ? { approval: { ...s.approval } } : {}),
      ...(s.manual ? { manual: structuredClone(s.manual) } : {}),
      trigger: { kind: event.kind, seq: event.seq, time: event.time },
      final: s.status !== 'running',
    };
  }
}

const blankStage = (name: string): StageView => ({ name, environment: '', strategy: '', version: '', status: 'pending', analyses: [] });

const STATUS_WORDS: Record<RunStatus, string> = {
  running: 'in progress',
  paused: 'waiting for approval',
  succeeded: 'succeeded',
  failed: 'failed',
  'rolled-back': 'rolled back',
  'manual-intervention-required': 'needs a person',
  cancelled: 'cancelled',
};

/** `web: 1.4.2 → production (canary, 25%): in progress`, about the stage that moved last. */
function titleOf(s: DigestState): string {
  const current = Object.values(s.stages)
    .filter((st) => st.status !== 'skipped' && st.status !== 'pending')
    .at(-1);
  const gate = s.approval?.version && s.approval.environment ? ` ${s.approval.version} to ${s.approval.environment}` : '';
  const where = current
    ? ` ${current.from && current.from !== current.version ? `${current.from} → ` : ''}${current.version} to ${current.environment} (${current.strategy}${current.weight !== undefined && s.status === 'running' ? `, ${current.weight}%` : ''})`
    : gate;
  const status = s.status === 'paused' && !s.approval ? 'paused' : STATUS_WORDS[s.status];
  const rollingBack = s.status === 'running' && current?.rollback?.state === 'running' ? 'rolling back' : status;
  return where ? `${s.workflow}:${where}: ${rollingBack}` : `${s.workflow}: ${rollingBack}`;
}

function severityOf(s: DigestState): Severity {
  if (s.manual) return 'danger';
  if (s.status === 'succeeded') return 'success';
  if (s.status === 'paused') return 'warning';
  if (s.status !== 'running') return 'danger';
  return Object.values(s.stages).some((st) => st.rollback?.state === 'running' || st.failure) ? 'warning' : 'info';
}

function dedupe<T extends { url: string }>(links: T[]): T[] {
  return links.filter((l, i) => links.findIndex((o) => o.url === l.url) === i);
}

function isState(v: unknown): v is DigestState {
  return typeof v === 'object' && v !== null && 'stages' in v && 'output' in v && 'planned' in v && 'context' in v;
}
