import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../errors.js';
import { planSplit, relativeWeights, shareOf, type EntryModel, type SplitWeights } from './split.js';

/* Entries read as a Gateway API rule's backendRefs are (an absent weight is 1). */
type Entry = { name: string; weight?: number; port?: number };
const model: EntryModel<Entry> = {
  router: 'test',
  names: { stable: 'Service web', canary: 'Service web-canary' },
  role: (e) => (e.name === 'web' ? 'stable' : e.name === 'web-canary' ? 'canary' : undefined),
  weight: (e) => e.weight ?? 1,
  withWeight: (e, weight) => ({ ...e, weight }),
  canaryFrom: (stable) => ({ name: 'web-canary', ...(stable.port ? { port: stable.port } : {}) }),
  label: (e) => `Service ${e.name}`,
};
/* Istio's reading: a lone entry takes everything, among several an absent weight is 0. */
const lone: EntryModel<Entry> = { ...model, weight: (e, count) => (count === 1 ? 1 : (e.weight ?? 0)) };
const WHERE = 'rule 0 of HTTPRoute default/web';

describe('relativeWeights', () => {
  it.each<[number, SplitWeights]>([
    [0, { stable: 100, canary: 0 }],
    [10, { stable: 90, canary: 10 }],
    [100, { stable: 0, canary: 100 }],
    [2.5, { stable: 975, canary: 25 }],
    [0.25, { stable: 9_975, canary: 25 }],
    [2.55, { stable: 9_745, canary: 255 }],
    // Beyond a hundredth of a percent the split is rounded, as the nginx and haproxy routers round it.
    [33.333, { stable: 6_667, canary: 3_333 }],
  ])('%s %% is %j', (canary, weights) => {
    expect(relativeWeights(canary)).toEqual(weights);
  });
});

describe('planSplit', () => {
  it.each<[string, Entry[], SplitWeights, Entry[]]>([
    ['adds the canary after the stable one', [{ name: 'web', port: 80 }], { stable: 90, canary: 10 }, [{ name: 'web', port: 80, weight: 90 }, { name: 'web-canary', port: 80, weight: 10 }]],
    [
      'weights a canary that is there, wherever it is',
      [{ name: 'web-canary', weight: 5 }, { name: 'web', weight: 95 }],
      { stable: 70, canary: 30 },
      [{ name: 'web-canary', weight: 30 }, { name: 'web', weight: 70 }],
    ],
    [
      'leaves a backend of weight 0 alone',
      [{ name: 'web' }, { name: 'sorry', weight: 0 }],
      { stable: 0, canary: 100 },
      [{ name: 'web', weight: 0 }, { name: 'web-canary', weight: 100 }, { name: 'sorry', weight: 0 }],
    ],
    ['keeps the canary at weight 0', [{ name: 'web', weight: 50 }, { name: 'web-canary', weight: 50 }], { stable: 100, canary: 0 }, [{ name: 'web', weight: 100 }, { name: 'web-canary', weight: 0 }]],
  ])('%s', (_, found, weights, planned) => {
    expect(planSplit(found, weights, model, WHERE)).toEqual(planned);
  });

  it('changes nothing in the list it is given', () => {
    const found: Entry[] = [{ name: 'web', port: 80 }];
    planSplit(found, { stable: 50, canary: 50 }, model, WHERE);
    expect(found).toEqual([{ name: 'web', port: 80 }]);
  });

  it.each<[string, Entry[], EntryModel<Entry>, string]>([
    ['no stable entry', [{ name: 'other' }], model, 'test router: rule 0 of HTTPRoute default/web does not send traffic to Service web (its backends: Service other); check the router\'s stable backend'],
    ['an empty list', [], model, 'test router: rule 0 of HTTPRoute default/web does not send traffic to Service web (its backends: none); check the router\'s stable backend'],
    [
      'the stable entry twice',
      [{ name: 'web', port: 80 }, { name: 'web', port: 81 }],
      model,
      'test router: rule 0 of HTTPRoute default/web lists Service web more than once (Service web, Service web); rollgate sets one weight per version',
    ],
    [
      'the canary entry twice',
      [{ name: 'web' }, { name: 'web-canary' }, { name: 'web-canary' }],
      model,
      'test router: rule 0 of HTTPRoute default/web lists Service web-canary more than once (Service web, Service web-canary, Service web-canary); rollgate sets one weight per version',
    ],
    [
      'another backend with traffic (default weight 1)',
      [{ name: 'web' }, { name: 'legacy' }],
      model,
      "test router: rule 0 of HTTPRoute default/web also sends traffic to Service legacy (weight 1), so the canary's share would not be the one rollgate sets; give it weight 0 or a rule of its own",
    ],
  ])('refuses %s', (_, found, m, message) => {
    expect(() => planSplit(found, { stable: 90, canary: 10 }, m, WHERE)).toThrow(new ProviderError(message));
  });

  it('another destination without a weight takes no traffic where an absent weight is 0', () => {
    expect(planSplit([{ name: 'web' }, { name: 'legacy' }], { stable: 90, canary: 10 }, lone, WHERE)).toEqual([
      { name: 'web', weight: 90 },
      { name: 'web-canary', weight: 10 },
      { name: 'legacy' },
    ]);
  });
});

describe('shareOf', () => {
  it.each<[string, Entry[], EntryModel<Entry>, number | undefined]>([
    ['no canary', [{ name: 'web', weight: 7 }], model, 0],
    ['relative weights', [{ name: 'web', weight: 975 }, { name: 'web-canary', weight: 25 }], model, 2.5],
    ['default weights', [{ name: 'web' }, { name: 'web-canary' }], model, 50],
    ['to a hundredth', [{ name: 'web', weight: 2 }, { name: 'web-canary', weight: 1 }], model, 33.33],
    ['others count in the whole', [{ name: 'web', weight: 50 }, { name: 'web-canary', weight: 25 }, { name: 'legacy', weight: 25 }], model, 25],
    ['the canary alone', [{ name: 'web-canary', weight: 0 }], lone, 100],
    ['an absent weight among several is 0', [{ name: 'web', weight: 100 }, { name: 'web-canary' }], lone, 0],
    ['nothing anywhere', [{ name: 'web', weight: 0 }, { name: 'web-canary', weight: 0 }], model, undefined],
    ['no entries', [], model, undefined],
  ])('%s', (_, entries, m, share) => {
    expect(shareOf(entries, m)).toBe(share);
  });
});
