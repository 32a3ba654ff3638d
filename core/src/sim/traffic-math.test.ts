import { describe, expect, it } from 'vitest';
import { mixtureP99, noiseUnit, percent } from './traffic-math.js';

describe('traffic math', () => {
  it('percent formats shares', () => {
    expect(percent(0.25)).toBe('25%');
    expect(percent(0.0612)).toBe('6.1%');
  });

  it('mixtureP99 is exact for one version and between the extremes for a mix', () => {
    expect(mixtureP99([])).toBe(0);
    expect(mixtureP99([{ share: 1, p99: 0 }])).toBe(0);
    expect(mixtureP99([{ share: 0.5, p99: 80 }, { share: 0.5, p99: 0 }])).toBe(80);
    expect(mixtureP99([{ share: 0.99, p99: 80 }, { share: 0.01, p99: 800 }])).toBeGreaterThan(80);
    const even = mixtureP99([{ share: 0.5, p99: 100 }, { share: 0.5, p99: 100 }]);
    expect(even).toBeCloseTo(100, 3);
    const mix = mixtureP99([{ share: 0.9, p99: 100 }, { share: 0.1, p99: 1000 }]);
    expect(mix).toBeGreaterThan(500);
    expect(mix).toBeLessThan(1000);
  });

  it('noiseUnit is reproducible and spread over [-0.5, 0.5)', () => {
    expect(noiseUnit(1, 'web', 1, 0)).toBe(noiseUnit(1, 'web', 1, 0));
    const values = Array.from({ length: 2000 }, (_, i) => noiseUnit(1, 'web', 1, i));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...values)).toBeLessThan(0.5);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(noiseUnit(2, 'web', 1, 0)).not.toBe(noiseUnit(1, 'web', 1, 0));
  });
});
