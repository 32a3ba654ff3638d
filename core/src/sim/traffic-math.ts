const LN100 = Math.log(100);

/** `0.25` → `25%`, `0.0612` → `6.1%`. */
export function percent(rate: number): string {
  return `${Number((rate * 100).toFixed(1))}%`;
}

/**
 * p99 of a mix of versions, each with exponentially distributed latency of the given p99: the
 * `x` where Σ share × (1 − e^(−x·ln100/p99)) = 0.99. A slow canary with a few percent of the traffic
 * lifts the p99 much more than a weighted mean would, as it does in production.
 */
export function mixtureP99(parts: { share: number; p99: number }[]): number {
  const live = parts.filter((p) => p.share > 0 && p.p99 > 0);
  if (live.length === 0) return 0;
  if (live.length === 1) return (live[0] as { p99: number }).p99;
  const total = live.reduce((s, p) => s + p.share, 0);
  const cdf = (x: number) => live.reduce((s, p) => s + (p.share / total) * (1 - Math.exp((-x * LN100) / p.p99)), 0);
  let lo = Math.min(...live.map((p) => p.p99));
  let hi = Math.max(...live.map((p) => p.p99));
  for (let k = 0; k < 40 && hi - lo > 1e-6; k++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < 0.99) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A reproducible value in [-0.5, 0.5) from the seed, a name, a metric number and a time bucket. */
export function noiseUnit(seed: number, name: string, metric: number, bucket: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ metric, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (bucket >>> 0), 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296 - 0.5;
}
