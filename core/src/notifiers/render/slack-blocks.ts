import type { RunEvent } from '../../model/events.js';
import type { RunMessage, Severity } from '../../model/run-message.js';
import { actionLines, analysisLines, outcomeLines, runFacts, shownStages, stageFacts, type Fact } from './facts.js';
import { renderText } from './text.js';
import { cut, TRUNCATED } from './truncate.js';

/** Slack's documented Block Kit limits (docs.slack.dev/reference/block-kit/blocks). */
export const SLACK_LIMITS = { blocks: 50, headerText: 150, sectionText: 3000, fields: 10, fieldText: 2000, buttons: 25, buttonText: 75, url: 3000, text: 3000 };

export interface SlackMessage {
  /** Fallback text: shown in notifications and where blocks cannot be. */
  text: string;
  blocks: Record<string, unknown>[];
}

const EMOJI = { info: ':large_blue_circle:', success: ':white_check_mark:', warning: ':warning:', danger: ':x:' } as const;

/** `&`, `<` and `>` are control characters in Slack's mrkdwn; values from outside must not become links or mentions. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: cut(escapeMrkdwn(text), SLACK_LIMITS.sectionText) });
const fields = (facts: Fact[]) => ({
  type: 'section',
  fields: facts.slice(0, SLACK_LIMITS.fields).map((f) => ({ type: 'mrkdwn', text: cut(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}`, SLACK_LIMITS.fieldText) })),
});

/**
 * The run's one message in Slack, updated in place as the rollout goes: the headline, what just
 * happened, who and which commit, each stage with its progress, measured values and the why of a
 * failure, and buttons for the links. Longer than Slack allows: cut with a marker, never refused.
 */
export function renderSlack(m: RunMessage): SlackMessage {
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`${m.title}`, SLACK_LIMITS.headerText), emoji: true } },
    { type: 'section', text: mrkdwn(`${EMOJI[m.severity]} ${m.text}`) },
    fields(runFacts(m)),
  ];
  const actions = actionLines(m);
  if (actions.length > 0) blocks.push({ type: 'section', text: mrkdwn(`:raising_hand: ${actions.join('\n')}`) });
  for (const s of shownStages(m)) {
    blocks.push({ type: 'divider' }, { type: 'section', text: mrkdwn(`*${s.name}*`) }, fields(stageFacts(s)));
    const analyses = analysisLines(s);
    if (analyses.length > 0) blocks.push({ type: 'section', text: mrkdwn(`*Analysis*\n${analyses.join('\n')}`) });
    const outcome = outcomeLines(m, s);
    if (outcome.length > 0) blocks.push({ type: 'section', text: mrkdwn(outcome.join('\n')) });
    if (s.failure && s.failure.output.length > 0) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${cut(escapeMrkdwn(s.failure.output.join('\n')), SLACK_LIMITS.sectionText - 6)}\`\`\`` } });
    }
  }
  const buttons = m.links
    .filter((l) => l.url.length <= SLACK_LIMITS.url && /^https?:\/\//.test(l.url))
    .slice(0, 5)
    .map((l) => ({ type: 'button', text: { type: 'plain_text', text: cut(l.label, SLACK_LIMITS.buttonText) }, url: l.url }));
  const tail: Record<string, unknown>[] = [];
  if (buttons.length > 0) tail.push({ type: 'actions', elements: buttons });
  tail.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(`rollgate · ${m.workflow} · run ${m.runId} · event ${m.trigger.seq}`) }] });
  const room = SLACK_LIMITS.blocks - tail.length;
  const body =
    blocks.length > room ? [...blocks.slice(0, room - 1), { type: 'context', elements: [{ type: 'mrkdwn', text: `${TRUNCATED}: ${blocks.length - room + 1} more blocks` }] }] : blocks;
  return { text: cut(renderText(m).slice(0, 2).join('\n'), SLACK_LIMITS.text), blocks: [...body, ...tail] };
}

/**
 * A detail in the message's thread: what this event says, with the lines that explain it (a
 * failed step's last output, a measured value against its condition).
 */
export function renderSlackDetail(event: RunEvent, m: RunMessage): { text: string } {
  const stage = 'stage' in event && event.stage ? m.stages.find((s) => s.name === event.stage) : undefined;
  const lines = [`${EMOJI[eventSeverity(event, m)]} ${m.text}`];
  if (event.kind === 'step.failed' && stage?.failure?.output.length) lines.push('```', ...stage.failure.output, '```');
  if ((event.kind === 'stage.finished' || event.kind === 'rollback.finished') && stage) lines.push(...analysisLines(stage));
  return { text: cut(escapeMrkdwn(lines.join('\n')), SLACK_LIMITS.text) };
}

/** How one event reads on its own: a stage that succeeded is good news while the run goes on. */
function eventSeverity(e: RunEvent, m: RunMessage): Severity {
  switch (e.kind) {
    case 'run.finished':
    case 'stage.finished':
      return e.status === 'succeeded' ? 'success' : e.status === 'skipped' ? 'info' : e.status === 'paused' ? 'warning' : 'danger';
    case 'rollback.started':
    case 'run.paused':
    case 'approval.requested':
      return 'warning';
    case 'rollback.finished':
      return e.complete ? 'warning' : 'danger';
    case 'manual-intervention.required':
    case 'step.failed':
    case 'notifier.failed':
      return 'danger';
    case 'approval.decided':
      return e.decision.status === 'approved' ? 'success' : 'danger';
    default:
      return m.severity === 'success' ? 'success' : 'info';
  }
}
