import { describe, expect, it } from 'vitest';
import type { RunMessage, StageView } from '../../model/run-message.js';
import { sampleNotifications } from '../../testing/contracts/notifier.js';
import { renderSlack, renderSlackDetail, SLACK_LIMITS } from './slack-blocks.js';
import { renderTeamsCard, TEAMS_WORKFLOW_MAX_BYTES } from './teams-card.js';
import { renderText } from './text.js';
import { cut, jsonBytes, TRUNCATED } from './truncate.js';

const all = sampleNotifications();
const final = all.at(-1) as (typeof all)[number];
const failedStep = all.find((n) => n.event.kind === 'step.failed') as (typeof all)[number];

function bigMessage(stages: number, outputLine = 'x'.repeat(400)): RunMessage {
  const stage = (i: number): StageView => ({
    name: `stage-${i}`,
    environment: `env-${i}`,
    strategy: 'canary',
    version: 'v2',
    status: 'failed',
    analyses: Array.from({ length: 12 }, (_, k) => ({ metric: `metric-${k}`, value: '1.23%', condition: 'result < 0.05', verdict: 'failed' as const, count: 3 })),
    failure: { step: 'verify', reason: 'r'.repeat(5000), output: Array.from({ length: 8 }, () => outputLine) },
  });
  return { ...final.message, title: 'T'.repeat(500), stages: Array.from({ length: stages }, (_, i) => stage(i)) };
}

describe('text', () => {
  it('says the headline, what happened, who, each stage with its values and the why, and the links', () => {
    const text = renderText(final.message).join('\n');
    expect(text).toContain('✗ web: v1 → v2 to production (canary): rolled back');
    expect(text).toContain('run: run-1 (local) · by: alice');
    expect(text).toContain('web [rolled-back] v1 → v2 to production (canary)');
    expect(text).toContain('✗ error-rate 12% [result < 0.05] failed');
    expect(text).toContain('Failed at verify: error-rate 12% [result < 0.05] failed');
    expect(text).toContain('Rollback INCOMPLETE, left: route/web');
    expect(text).toContain('- send all traffic of web to v1');
    expect(text).toContain('production: https://web.example.com');
  });
});

describe('Slack blocks', () => {
  it('puts the headline in a header, the facts in fields, the values and the why in sections, and links as buttons', () => {
    const { text, blocks } = renderSlack(final.message);
    expect(text).toBe('✗ web: v1 → v2 to production (canary): rolled back\n  run run-1 rolled-back: web rolled back');
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'web: v1 → v2 to production (canary): rolled back', emoji: true } });
    const json = JSON.stringify(blocks);
    expect(json).toContain('*Analysis*\\n✗ error-rate 12% [result &lt; 0.05] failed');
    expect(json).toContain('```HTTP 500 from /checkout```');
    expect(json).toContain('"url":"https://web.example.com"');
    expect(json).toContain('Manual intervention required in web. Left: route/web');
  });

  it('keeps within Slack’s limits by cutting with a marker, never by failing', () => {
    const { text, blocks } = renderSlack(bigMessage(30));
    expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.text);
    const header = blocks[0] as { text: { text: string } };
    expect(header.text.text).toHaveLength(SLACK_LIMITS.headerText);
    expect(header.text.text.endsWith(TRUNCATED)).toBe(true);
    expect(JSON.stringify(blocks)).toContain(`${TRUNCATED}: `);
    for (const b of blocks as { text?: { text: string }; fields?: { text: string }[] }[]) {
      if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      for (const f of b.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
      expect((b.fields ?? []).length).toBeLessThanOrEqual(SLACK_LIMITS.fields);
    }
  });

  it('escapes what came from outside, so a version or an output line cannot mention @channel or make a link', () => {
    const m = { ...final.message, text: 'deploy <!channel> & <https://evil|click>' };
    expect(JSON.stringify(renderSlack(m).blocks)).toContain('deploy &lt;!channel&gt; &amp; &lt;https://evil|click&gt;');
  });

  it('puts a failed step’s last output in its thread reply', () => {
    expect(renderSlackDetail(failedStep.event, failedStep.message).text).toContain('```\nHTTP 500 from /checkout\n```');
    expect(renderSlackDetail(final.event, final.message).text).toMatch(/^:x: run run-1 rolled-back: web rolled back$/);
  });
});

describe('Teams Adaptive Card', () => {
  it('is a version 1.5 card with the headline in the severity’s colour, facts, values, and links as OpenUrl actions', () => {
    const card = renderTeamsCard(final.message);
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    const body = card.body as Record<string, unknown>[];
    expect(body[0]).toMatchObject({ type: 'TextBlock', text: 'web: v1 → v2 to production (canary): rolled back', color: 'Attention', weight: 'Bolder' });
    expect(JSON.stringify(body)).toContain('✗ error-rate 12% [result < 0.05] failed');
    expect(card.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'production', url: 'https://web.example.com' },
    ]);
  });

  it('shrinks to fit the Workflows limit, saying what it left out, instead of being refused', () => {
    const big = bigMessage(40);
    expect(jsonBytes(renderTeamsCard({ ...big, stages: big.stages.slice(0, 1) }, 1_000_000))).toBeLessThan(TEAMS_WORKFLOW_MAX_BYTES);
    const card = renderTeamsCard(big);
    expect(jsonBytes(card) + 200).toBeLessThanOrEqual(TEAMS_WORKFLOW_MAX_BYTES);
    expect(JSON.stringify(card)).toContain('earlier stage(s) not shown');
    const tiny = renderTeamsCard({ ...big, title: 'T'.repeat(50_000) }, 3000);
    expect(jsonBytes(tiny)).toBeLessThan(3000);
  });
});

describe('cut', () => {
  it('leaves short text alone and never splits a surrogate pair', () => {
    expect(cut('short', 10)).toBe('short');
    const emoji = `${'a'.repeat(5)}😀😀😀😀😀😀😀😀😀`;
    const out = cut(emoji, 20);
    expect(out.length).toBeLessThanOrEqual(20);
    expect(out.endsWith(TRUNCATED)).toBe(true);
    expect(() => encodeURIComponent(out)).not.toThrow();
  });
});
