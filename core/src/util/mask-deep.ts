/** A copy of `value` with `mask` applied to every string in it (event payloads, the journal). */
export function maskDeep<T>(value: T, mask: (text: string) => string): T {
  return walk(value, mask) as T;
}

function walk(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === 'string') return mask(value);
  if (Array.isArray(value)) return value.map((v) => walk(v, mask));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, mask);
    return out;
  }
  return value;
}
