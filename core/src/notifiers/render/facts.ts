import type { RunMessage, StageView } from '../../model/run-message.js';

/**
 * What every renderer shows, in order, as labelled values: the platforms differ in layout, not in
 * what they say. Kept here so Slack, Teams, a webhook and the console never drift apart.
 */
export interface Fact {
  label: string;
  value: string;
}

/** Who and from where: the actor, the commit and ref, the CI. */
export function runFacts(m: RunMessage): Fact[] {
  const c = m.context;
  return [
    { label: 'Run', value: `${m.runId} (${c.ci})` },
    { label: 'By', value: c.actor },
    ...(c.repository ? [{ label: 'Repository', value: c.repository }] : []),
    ...(c.commit ? [{ label: 'Commit', value: `${c.commit.slice(0, 12)}${c.ref ? ` on ${c.ref.replace(/^refs\/heads\//, '')}` : ''}` }] : []),
  ];
}

/** One stage: what goes where, how far it got. */
export function stageFacts(s: StageView): Fact[] {
  return [
    { label: 'Version', value: s.from && s.from !== s.version ? `${s.from} → ${s.version}` : s.version },
    { label: 'Environment', value: s.environment },
    { label: 'Strategy', value: s.strategy },
    { label: 'Status', value: s.status },
    ...(progressOf(s) ? [{ label: 'Progress', value: progressOf(s) as string }] : []),
  ];
}

/** `step 3 of 7 (analysis-2), 25% of traffic`; undefined before the first step. */
export function progressOf(s: StageView): string | undefined {
  const parts: string[] = [];
  if (s.step) {
    const position = s.step.index ? `step ${s.step.index}${s.step.of ? ` of ${s.step.of}` : ''} ` : '';
    parts.push(`${position}(${s.step.id}${s.step.attempt > 1 ? `, attempt ${s.step.attempt}` : ''})`.trim());
  }
  if (s.weight !== undefined) parts.push(`${s.weight}% of traffic`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

const VERDICT_MARK = { succeeded: '✓', failed: '✗', inconclusive: '?', errored: '!' } as const;

/** `error-rate 2.93% [result < 0.05] ✓ (3 measured)`, one per metric. */
export function analysisLines(s: StageView): string[] {
  return s.analyses.map(
    (a) =>
      `${VERDICT_MARK[a.verdict]} ${a.metric} ${a.value} [${a.condition}] ${a.verdict}${a.count > 1 ? ` (${a.count} measured)` : ''}${a.note ? `: ${a.note}` : ''}`,
  );
}

/** The why of a failure and what rollgate did about it, the next step when a person is needed. */
export function outcomeLines(m: RunMessage, s: StageView): string[] {
  const lines: string[] = [];
  if (s.failure) lines.push(`Failed${s.failure.step ? ` at ${s.failure.step}` : ''}: ${s.failure.reason}`);
  if (s.rollback) {
    const reason = s.rollback.reason && !s.failure ? ` (${s.rollback.reason})` : '';
    if (s.rollback.state === 'running') lines.push(`Rolling back${reason}`);
    else if (s.rollback.state === 'complete') lines.push(`Rolled back: the previous version runs again${reason}`);
    else lines.push(`Rollback INCOMPLETE, left: ${s.rollback.remaining.join('; ')}`);
  }
  if (s.note && s.status === 'skipped') lines.push(`Skipped: ${s.note}`);
  return lines;
}

/** What a person must do now: decide at a gate, or finish a rollback by hand; empty when nothing. */
export function actionLines(m: RunMessage): string[] {
  const lines: string[] = [];
  if (m.approval) {
    lines.push(`Waiting for approval at gate ${m.approval.gate} (${m.approval.approver})${m.approval.message ? `: ${m.approval.message}` : ''}`);
    lines.push(`To decide: ${m.approval.how}`);
  }
  if (m.manual) {
    lines.push(`Manual intervention required in ${m.manual.stage}. Left: ${m.manual.remaining.join('; ') || 'see the journal'}`);
    for (const i of m.manual.instructions) lines.push(`  - ${i}`);
    lines.push(`To finish: ${m.manual.how}`);
  }
  return lines;
}

/** Stages worth a section: those that started, or were skipped for a reason. */
export function shownStages(m: RunMessage): StageView[] {
  return m.stages.filter((s) => s.status !== 'pending');
}
