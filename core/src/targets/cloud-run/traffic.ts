/*
 * A Cloud Run service's traffic spec as rollgate reads and writes it: entries by revision (LATEST
 * pinned to the revision it means, so a new revision takes no traffic until rollgate moves it), the
 * candidate's entry found by its tag, and a share given to the candidate with the other revisions
 * keeping their proportions.
 */

export const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
export const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

export interface TrafficEntry {
  type?: string;
  revision?: string;
  percent?: number;
  tag?: string;
}

/** The short name of a revision (`web-00001-abc`) from its resource name. */
export const shortName = (name: string | undefined): string | undefined => (name === undefined ? undefined : name.slice(name.lastIndexOf('/') + 1));

/** The spec with every entry naming its revision (LATEST → the latest Ready one), 0 % untagged entries dropped. */
export function explicit(traffic: TrafficEntry[] | undefined, latestReady: string | undefined): TrafficEntry[] {
  const entries = (traffic ?? []).length === 0 ? [{ type: LATEST, percent: 100 }] : (traffic as TrafficEntry[]);
  return entries
    .map((t) => ({
      type: REVISION,
      revision: t.type === LATEST ? (shortName(latestReady) ?? '') : (t.revision ?? ''),
      percent: t.percent ?? 0,
      ...(t.tag ? { tag: t.tag } : {}),
    }))
    .filter((t) => t.percent > 0 || t.tag);
}

/** The same traffic, whatever order its entries are in (a LATEST entry is not the revision it means now). */
export function sameTraffic(a: TrafficEntry[], b: TrafficEntry[]): boolean {
  const key = (t: TrafficEntry[]) =>
    t
      .map((e) => `${e.type === LATEST ? '@latest' : (e.revision ?? '')}=${e.percent ?? 0}#${e.tag ?? ''}`)
      .sort()
      .join(',');
  return key(a) === key(b);
}

/** `web-00001-abc 90%, web-2-0-0 10% (candidate)`: traffic for messages and recorded changes. */
export function describeTraffic(traffic: TrafficEntry[]): string {
  return traffic.map((t) => `${t.revision ?? 'latest'} ${t.percent ?? 0}%${t.tag ? ` (${t.tag})` : ''}`).join(', ') || 'none';
}

/**
 * `percent` to the candidate revision (tagged `tag`), the rest over the `stable` entries in their
 * proportions (largest remainder, so the whole numbers sum to 100). Entries tagged by someone else
 * keep their tag, at whatever share falls to them.
 */
export function split(stable: TrafficEntry[], candidate: { revision: string; tag: string }, percent: number): TrafficEntry[] {
  const others = stable.filter((t) => t.revision !== candidate.revision && t.tag !== candidate.tag);
  const weight = others.reduce((n, t) => n + (t.percent ?? 0), 0);
  const rest = 100 - percent;
  const raw = others.map((t) => (weight === 0 ? (t === others[0] ? rest : 0) : ((t.percent ?? 0) * rest) / weight));
  const floors = raw.map(Math.floor);
  let left = rest - floors.reduce((n, x) => n + x, 0);
  const order = raw.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i] = (floors[i] as number) + 1;
    left -= 1;
  }
  const candidatePercent = others.length === 0 ? 100 : percent;
  const out: TrafficEntry[] = others.map((t, i) => ({ ...t, type: REVISION, percent: floors[i] as number }));
  return [...out.filter((t) => (t.percent ?? 0) > 0 || t.tag), { type: REVISION, revision: candidate.revision, percent: candidatePercent, tag: candidate.tag }];
}

/** A revision name for a version: `<service>-<version as lowercase letters, digits and dashes>`, at most 63 characters. */
export function revisionName(service: string, version: string): string {
  const slug = version
    .toLowerCase()
    .replace(/^sha256:/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const name = `${service}-${slug || 'v'}`;
  return name.length <= 63 ? name : name.slice(0, 63).replace(/-+$/, '');
}
