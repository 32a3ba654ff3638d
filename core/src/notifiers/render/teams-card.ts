import type { RunMessage, StageView } from '../../model/run-message.js';
import { actionLines, analysisLines, outcomeLines, runFacts, shownStages, stageFacts, type Fact } from './facts.js';
import { cut, jsonBytes, TRUNCATED } from './truncate.js';

/** Workflows' "post card" takes about 28 KB in all (learn.microsoft.com/connectors/teams); a bot message 100 KB (aim for 80). */
export const TEAMS_WORKFLOW_MAX_BYTES = 28 * 1024;
export const TEAMS_BOT_MAX_BYTES = 80 * 1024;

const COLOR = { info: 'Accent', success: 'Good', warning: 'Warning', danger: 'Attention' } as const;

type Element = Record<string, unknown>;

const textBlock = (text: string, extra: Element = {}): Element => ({ type: 'TextBlock', text: cut(text, 4000), wrap: true, ...extra });
const factSet = (facts: Fact[]): Element => ({ type: 'FactSet', facts: facts.map((f) => ({ title: cut(f.label, 200), value: cut(f.value, 1000) })) });

/** How much of each stage to show: everything, then less as the card must shrink. */
interface Detail {
  output: number;
  analyses: boolean;
  stages: number;
}

function stageElements(m: RunMessage, s: StageView, d: Detail): Element[] {
  const out: Element[] = [textBlock(s.name, { weight: 'Bolder', separator: true, spacing: 'Medium' }), factSet(stageFacts(s))];
  const analyses = analysisLines(s);
  if (d.analyses && analyses.length > 0) out.push(textBlock(analyses.join('\n\n')));
  const outcome = outcomeLines(m, s);
  if (outcome.length > 0) out.push(textBlock(outcome.join('\n\n'), s.failure || s.rollback?.state === 'incomplete' ? { color: 'Attention' } : {}));
  const output = s.failure?.output.slice(-d.output) ?? [];
  if (output.length > 0) out.push(textBlock(output.join('\n'), { fontType: 'Monospace', size: 'Small', isSubtle: true }));
  return out;
}

function card(m: RunMessage, d: Detail): Element {
  const stages = shownStages(m);
  const shown = stages.slice(Math.max(0, stages.length - d.stages));
  const body: Element[] = [
    textBlock(m.title, { weight: 'Bolder', size: 'Medium', color: COLOR[m.severity] }),
    textBlock(m.text),
    factSet(runFacts(m)),
    ...(actionLines(m).length > 0 ? [textBlock(actionLines(m).join('\n\n'), { color: 'Warning', weight: 'Bolder' })] : []),
    ...(shown.length < stages.length ? [textBlock(`${TRUNCATED}: ${stages.length - shown.length} earlier stage(s) not shown`, { isSubtle: true })] : []),
    ...shown.flatMap((s) => stageElements(m, s, d)),
  ];
  const actions = m.links.filter((l) => /^https?:\/\//.test(l.url)).slice(0, 5).map((l) => ({ type: 'Action.OpenUrl', title: cut(l.label, 80), url: l.url }));
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.5',
    body,
    ...(actions.length > 0 ? { actions } : {}),
    msteams: { width: 'Full' },
  };
}

/**
 * The run as an Adaptive Card (version 1.5, the newest Teams renders), within `maxBytes` as the
 * platform counts it: a card too big loses the oldest output lines, then the analyses, then the
 * earliest stages, and says so, rather than being refused with "Request Entity too large".
 */
export function renderTeamsCard(m: RunMessage, maxBytes = TEAMS_WORKFLOW_MAX_BYTES): Element {
  // The envelope around the card (type, attachments, contentType) is about 150 bytes.
  const fits = (c: Element) => jsonBytes(c) + 200 <= maxBytes;
  const stages = shownStages(m).length;
  const plans: Detail[] = [
    { output: 8, analyses: true, stages },
    { output: 3, analyses: true, stages },
    { output: 0, analyses: true, stages },
    { output: 0, analyses: false, stages },
    ...Array.from({ length: Math.max(0, stages - 1) }, (_, i) => ({ output: 0, analyses: false, stages: stages - 1 - i })),
  ];
  for (const d of plans) {
    const c = card(m, d);
    if (fits(c)) return c;
  }
  // Even the headline alone is too big (a title of thousands of characters): cut the texts.
  const minimal = card({ ...m, title: cut(m.title, 300), text: cut(m.text, 1000), stages: [], links: [] }, { output: 0, analyses: false, stages: 0 });
  return minimal;
}
