/*
 * Percentages as the integer server weights proxies take, and back: shared by the nginx and
 * haproxy routers. A split is kept to a hundredth of a percent.
 */

/** How many servers play each version. */
export interface GroupSizes {
  stable: number;
  canary: number;
}

/** One weight per server of each group; 0 means the group gets no traffic (`down`, weight 0). */
export interface ServerWeights {
  stable: number;
  canary: number;
}

/**
 * The per-server weights that send `canary` % to the canary group: exact whenever both fit under
 * `max` (nginx has no limit; HAProxy's is 256), else the closest pair that does. A group's share
 * is its per-server weight times its size, so 10 % over 2 stable and 1 canary server is 9:2 per
 * server (18:2 in all).
 */
export function serverWeights(canary: number, sizes: GroupSizes, max = Number.MAX_SAFE_INTEGER): ServerWeights {
  const c = Math.round(canary * 100);
  const s = 10_000 - c;
  if (c <= 0) return { stable: 1, canary: 0 };
  if (s <= 0) return { stable: 0, canary: 1 };
  let a = c * sizes.stable;
  let b = s * sizes.canary;
  const g = gcd(a, b);
  a /= g;
  b /= g;
  if (Math.max(a, b) <= max) return { stable: b, canary: a };
  return closest(a / b, max);
}

/** The best pair under `max` for the per-server ratio canary:stable = `ratio`. */
function closest(ratio: number, max: number): ServerWeights {
  let best: ServerWeights = { stable: 1, canary: 1 };
  let error = Number.POSITIVE_INFINITY;
  for (let large = 1; large <= max; large += 1) {
    const small = Math.max(1, Math.round(ratio >= 1 ? large / ratio : large * ratio));
    const pair = ratio >= 1 ? { canary: large, stable: small } : { canary: small, stable: large };
    const off = Math.abs(pair.canary / pair.stable - ratio) / ratio;
    if (off < error) {
      best = pair;
      error = off;
    }
  }
  return best;
}

/** The canary's share in percent (to a hundredth) of the total weights; `undefined` when both are 0. */
export function shareOf(totals: { stable: number; canary: number }): number | undefined {
  const all = totals.stable + totals.canary;
  if (all <= 0) return undefined;
  return Math.round((10_000 * totals.canary) / all) / 100;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** A string or a list of them, as the configs take addresses and server names. */
export function listOf(value: string | readonly string[]): string[] {
  return typeof value === 'string' ? [value] : [...value];
}
