import { describe, expect, it } from 'vitest';
import { entries, lines, sealAll } from '../../../tests/fixtures/audit/trails.js';
import { hasEntryShape, parseEntry } from './read-lines.js';

/* What counts as an entry when a trail is read back: readers skip anything else, never crash. */

const whole = JSON.parse(lines(sealAll(entries(1)))[0] as string) as Record<string, unknown>;

describe('parseEntry', () => {
  it('reads a sealed entry, with its optional fields', () => {
    const full = { ...whole, environment: 'prod', stage: 'web', step: 'deploy', simTime: '2026-01-01T00:00:00Z', evidence: {}, approval: { status: 'approved', gate: 'g' } };
    expect(parseEntry(JSON.stringify(whole))).toEqual(whole);
    expect(hasEntryShape(full)).toBe(true);
    expect(hasEntryShape({ ...whole, prevHash: 'abc' })).toBe(true);
  });

  it.each<[string, unknown]>([
    ['format', 'other@1'],
    ['seq', '2'],
    ['ts', 5],
    ['runId', ['x']],
    ['workflow', null],
    ['kind', 3],
    ['outcome', false],
    ['message', 7],
    ['actor', null],
    ['ci', 'github'],
    ['ci', { platform: 1 }],
    ['changes', 'none'],
    ['changes', [1]],
    ['prevHash', 5],
    ['hash', undefined],
    ['environment', 1],
    ['stage', {}],
    ['step', 2],
    ['simTime', 0],
    ['evidence', 'yes'],
    ['approval', []],
  ])('is none when %s is of the wrong type (%j)', (field, value) => {
    expect(parseEntry(JSON.stringify({ ...whole, [field]: value }))).toBeUndefined();
  });

  it('is none for text that is not a JSON object', () => {
    expect(parseEntry('{"format":"rollgate/audit@1","seq":1')).toBeUndefined();
    expect(parseEntry('null')).toBeUndefined();
    expect(parseEntry('[1]')).toBeUndefined();
  });
});
