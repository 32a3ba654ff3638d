/*
 * Kubernetes resource quantities (`250m`, `0.5`, `128Mi`, `1G`, `1e3`) as numbers: CPU in
 * millicores, memory in bytes. The library's own parser is not exported by @kubernetes/client-node
 * 1.x, and the probes need only these two.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** The quantity as a plain number of its base unit (cores, bytes); `undefined` when it is not a quantity. */
export function quantity(text: string | number | undefined | null): number | undefined {
  if (text === undefined || text === null) return undefined;
  if (typeof text === 'number') return text;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|K|M|G|T|P|E)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2] ?? '';
  return Number(m[1]) * (BINARY[unit] ?? DECIMAL[unit] ?? 1);
}

/** CPU in millicores (`250m` → 250, `2` → 2000). */
export const cpuMillis = (text: string | number | undefined | null): number => Math.round((quantity(text) ?? 0) * 1000);

/** Memory in bytes (`128Mi` → 134217728). */
export const memoryBytes = (text: string | number | undefined | null): number => Math.round(quantity(text) ?? 0);
