import { describe, expect, it } from 'vitest';
import { checkAdaptiveCard, TEAMS_WEBHOOK_ACTIONS } from './adaptive-card.js';

const valid = {
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
  type: 'AdaptiveCard',
  version: '1.5',
  body: [
    { type: 'TextBlock', text: 'Deploy v1.2.3 → 25% canary', wrap: true, style: 'heading' },
    { type: 'FactSet', facts: [{ title: 'Environment', value: 'production' }] },
    { type: 'ActionSet', actions: [{ type: 'Action.ToggleVisibility', title: 'Details', targetElements: ['details'] }] },
    { type: 'Container', id: 'details', isVisible: false, items: [{ type: 'TextBlock', text: 'error rate 0.2%' }] },
  ],
  actions: [
    { type: 'Action.OpenUrl', title: 'View run', url: 'https://ci.example.com/run/1' },
    { type: 'Action.ShowCard', title: 'More', card: { type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'more' }] } },
  ],
};

const withCard = (changes: Record<string, unknown>) => ({ ...valid, ...changes });

describe('checkAdaptiveCard', () => {
  it('finds nothing wrong in a valid 1.5 card with the actions Teams webhooks allow', () => {
    expect(checkAdaptiveCard(valid)).toEqual([]);
    expect(TEAMS_WEBHOOK_ACTIONS).toEqual(['Action.OpenUrl', 'Action.ShowCard', 'Action.ToggleVisibility']);
  });

  it('refuses a version above 1.5, a version that is no version, and a missing one', () => {
    expect(checkAdaptiveCard(withCard({ version: '1.6' }))).toEqual(['version 1.6 is above 1.5, the highest Teams renders']);
    expect(checkAdaptiveCard(withCard({ version: 'x.y' }))).toEqual(
      expect.arrayContaining(['version "x.y" is not a major.minor version', 'InvalidPropertyValue: Invalid version string "x.y".']),
    );
    expect(checkAdaptiveCard(withCard({ version: undefined }))).toContain('"version" is required: Teams renders 1.5 or lower');
  });

  it('reports what the library finds: an unknown element type, a bad value, a missing url, a duplicate id', () => {
    expect(checkAdaptiveCard(withCard({ body: [{ type: 'Bogus' }] }))).toEqual(['UnknownElementType: Unknown element type "Bogus". Fallback will be used if present.']);
    expect(checkAdaptiveCard(withCard({ body: [{ type: 'TextBlock', text: 'x', size: 'huge' }] }))).toEqual(['InvalidPropertyValue: Invalid value "huge" for property "size".']);
    expect(checkAdaptiveCard(withCard({ actions: [{ type: 'Action.OpenUrl', title: 'x' }] }))).toEqual(['PropertyCantBeNull: Property "url" must be set.']);
    expect(checkAdaptiveCard(withCard({ body: [{ type: 'TextBlock', text: 'a', id: 'z' }, { type: 'Container', items: [{ type: 'TextBlock', text: 'b', id: 'z' }] }] }))).toEqual([
      'DuplicateId: Duplicate Id "z".',
    ]);
  });

  it('reports features newer than the version the card declares', () => {
    const problems = checkAdaptiveCard(withCard({ version: '1.2', body: [{ type: 'TextBlock', text: 'x', style: 'heading' }], actions: [] }));
    expect(problems).toEqual(['UnsupportedProperty: Property "style" is supported in version 1.5, but you are using version 1.2.']);
  });

  it('refuses Action.Submit and Action.Execute wherever they are: card actions, ActionSets, selectActions, ShowCard cards', () => {
    const problems = checkAdaptiveCard(
      withCard({
        body: [
          { type: 'ActionSet', actions: [{ type: 'Action.Submit', title: 'Approve' }] },
          { type: 'Container', items: [{ type: 'TextBlock', text: 'x' }], selectAction: { type: 'Action.Submit' } },
        ],
        actions: [{ type: 'Action.ShowCard', title: 'More', card: { type: 'AdaptiveCard', actions: [{ type: 'Action.Execute', title: 'Go' }] } }],
      }),
    );
    const allowed = 'use Action.OpenUrl, Action.ShowCard, Action.ToggleVisibility';
    expect(problems).toContain(`Action.Submit at body[0].actions[0] is not supported in Teams webhook cards: ${allowed}`);
    expect(problems).toContain(`Action.Submit at body[1].selectAction is not supported in Teams webhook cards: ${allowed}`);
    expect(problems).toContain(`Action.Execute at actions[0].card.actions[0] is not supported in Teams webhook cards: ${allowed}`);
    expect(checkAdaptiveCard(withCard({ actions: [{ type: 'Action.Submit', title: 'ok' }] }), { actions: [...TEAMS_WEBHOOK_ACTIONS, 'Action.Submit'] })).toEqual([]);
  });

  it('refuses a card over the size limit (28 KB by default, or the one given)', () => {
    const big = withCard({ body: Array.from({ length: 300 }, (_, i) => ({ type: 'TextBlock', text: `line ${i} ${'x'.repeat(90)}`, wrap: true })) });
    const problems = checkAdaptiveCard(big);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^the card is \d+\.\d KB, above the 28\.0 KB limit$/);
    expect(checkAdaptiveCard(big, { maxBytes: 100 * 1024 })).toEqual([]);
    expect(checkAdaptiveCard(valid, { maxBytes: 100 })[0]).toMatch(/above the 0\.1 KB limit/);
  });

  it('refuses what is not an Adaptive Card at all', () => {
    expect(checkAdaptiveCard({ type: 'MessageCard', version: '1.2' })).toEqual(
      expect.arrayContaining(['"type" must be "AdaptiveCard" (found "MessageCard")', expect.stringMatching(/^MissingCardType: /)]),
    );
    expect(checkAdaptiveCard({ type: 'AdaptiveCard', version: '1.4', body: 'text' })).toEqual(['"body" must be an array']);
  });
});
