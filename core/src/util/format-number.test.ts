import { describe, expect, it } from 'vitest';
import { formatBytes, formatMeasured, formatNumber, plural } from './format-number.js';

describe('numbers as people read them', () => {
  it.each<[number, string]>([
    [0.029286442329757845, '0.0293'],
    [0.05, '0.05'],
    [0.5, '0.5'],
    [1, '1'],
    [12.3456, '12.3'],
    [999.96, '1,000'],
    [1234.5, '1,235'],
    [12345, '12,345'],
    [-0.25, '-0.25'],
    [0.000012345, '1.23e-5'],
    [0, '0'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, '∞'],
    [Number.NEGATIVE_INFINITY, '-∞'],
  ])('%d reads %s', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });

  it.each<[number | null, Parameters<typeof formatMeasured>[1], string]>([
    [0.029286442329757845, 'ratio', '2.93%'],
    [0.029286442329757845, undefined, '0.0293'],
    [2.5, 'percent', '2.5%'],
    [412.4, 'ms', '412ms'],
    [95, 'seconds', '1m35s'],
    [1_610_612_736, 'bytes', '1.5 GB'],
    [1200.4, 'count', '1,200'],
    [null, 'ratio', 'no data'],
  ])('a measured %d in %s reads %s', (value, unit, text) => {
    expect(formatMeasured(value, unit)).toBe(text);
  });

  it('counts bytes in powers of 1024 and nouns by their count', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(plural(1, 'step')).toBe('1 step');
    expect(plural(1200, 'node')).toBe('1,200 nodes');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });
});
