import { describe, expect, it } from 'vitest';
import { explicit, LATEST, REVISION, revisionName, split } from './traffic.js';

describe('cloud-run traffic', () => {
  it('pins LATEST to the latest ready revision and drops untagged 0 % entries', () => {
    expect(explicit([{ type: LATEST, percent: 100 }, { type: REVISION, revision: 'web-a', percent: 0 }, { type: REVISION, revision: 'web-b', percent: 0, tag: 'qa' }], 'projects/p/locations/l/services/web/revisions/web-c')).toEqual([
      { type: REVISION, revision: 'web-c', percent: 100 },
      { type: REVISION, revision: 'web-b', percent: 0, tag: 'qa' },
    ]);
    expect(explicit(undefined, 'x/revisions/web-c')).toEqual([{ type: REVISION, revision: 'web-c', percent: 100 }]);
  });

  it('splits the rest over the stable revisions in their proportions, in whole percents summing to 100', () => {
    const stable = [
      { type: REVISION, revision: 'web-a', percent: 70 },
      { type: REVISION, revision: 'web-b', percent: 30 },
    ];
    const at = (percent: number) => split(stable, { revision: 'web-c', tag: 'candidate' }, percent);
    expect(at(50)).toEqual([
      { type: REVISION, revision: 'web-a', percent: 35 },
      { type: REVISION, revision: 'web-b', percent: 15 },
      { type: REVISION, revision: 'web-c', percent: 50, tag: 'candidate' },
    ]);
    for (const p of [0, 1, 10, 33, 99, 100]) expect(at(p).reduce((n, t) => n + (t.percent ?? 0), 0)).toBe(100);
    expect(at(100)).toEqual([{ type: REVISION, revision: 'web-c', percent: 100, tag: 'candidate' }]);
    expect(split([], { revision: 'web-c', tag: 'candidate' }, 10)).toEqual([{ type: REVISION, revision: 'web-c', percent: 100, tag: 'candidate' }]);
  });

  it('names a revision after the service and the version', () => {
    expect(revisionName('web', '1.4.2')).toBe('web-1-4-2');
    expect(revisionName('web', 'Feature/ABC_1')).toBe('web-feature-abc-1');
    expect(revisionName('web', `sha256:${'a'.repeat(64)}`)).toHaveLength(63);
  });
});
