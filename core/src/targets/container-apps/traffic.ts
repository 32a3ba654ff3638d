import { createHash } from 'node:crypto';

/*
 * A container app's traffic as lists of entries (`properties.configuration.ingress.traffic`):
 * resolved to revision names, split between the stable revisions and the candidate, compared and
 * described. Pure functions: the decisions the target and the router take, apart from the calls.
 */

export interface TrafficEntry {
  revisionName?: string;
  latestRevision?: boolean;
  weight: number;
  label?: string;
}

/** An entry naming its revision (a `latestRevision` entry resolved). */
export interface Pinned {
  revisionName: string;
  weight: number;
  label?: string;
}

/**
 * The entries with `latestRevision` replaced by the revision it means now, so that a revision
 * created next takes no traffic by itself (Container Apps would give it the latest's weight).
 */
export function pin(traffic: readonly TrafficEntry[] | undefined, latestReady: string | undefined): Pinned[] {
  return (traffic ?? []).flatMap((t) => {
    const name = t.latestRevision ? latestReady : t.revisionName;
    if (!name) return [];
    return [{ revisionName: name, weight: t.weight ?? 0, ...(t.label ? { label: t.label } : {}) }];
  });
}

/** The entries that are not the candidate's. */
export const stableOf = (traffic: readonly Pinned[], label: string): Pinned[] => traffic.filter((t) => t.label !== label);
export const candidateOf = (traffic: readonly Pinned[], label: string): Pinned | undefined => traffic.find((t) => t.label === label);

/**
 * `total` percent spread over `base`'s revisions in `base`'s proportions (all to the first when
 * `base` carries none), whole numbers by largest remainder so they add up to exactly `total`.
 * Labels are kept, and so are entries that end at 0 (the revision stays in the list, and is known
 * as one of the stable ones while the candidate takes all traffic).
 */
export function spread(base: readonly Pinned[], total: number): Pinned[] {
  if (base.length === 0) return [];
  const sum = base.reduce((n, t) => n + t.weight, 0);
  const shares = base.map((t, i) => (sum === 0 ? (i === 0 ? total : 0) : (t.weight * total) / sum));
  const floors = shares.map(Math.floor);
  let left = total - floors.reduce((n, f) => n + f, 0);
  const order = shares.map((s, i) => ({ i, r: s - Math.floor(s) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i] = (floors[i] as number) + 1;
    left--;
  }
  return base.map((t, i) => ({ ...t, weight: floors[i] as number }));
}

/** The stable entries of `base` sharing `100 - share`, and the candidate with `share` under its label. */
export function withCandidate(base: readonly Pinned[], candidate: string, label: string, share: number): Pinned[] {
  return [...spread(base, 100 - share), { revisionName: candidate, weight: share, label }];
}

/** Whether two traffic lists send the same weights to the same revisions under the same labels. */
export function sameTraffic(a: readonly Pinned[], b: readonly Pinned[]): boolean {
  return key(a) === key(b);
}

function key(traffic: readonly Pinned[]): string {
  return JSON.stringify(
    traffic
      .filter((t) => t.weight > 0 || t.label)
      .map((t) => [t.revisionName.toLowerCase(), t.weight, t.label ?? ''])
      .sort((x, y) => String(x).localeCompare(String(y))),
  );
}

/** `web--1-4-2 90%, web--1-5-0 10% (candidate)`: traffic in a message or a recorded change. */
export function describeTraffic(traffic: readonly Pinned[]): string {
  if (traffic.length === 0) return 'no traffic';
  return traffic.map((t) => `${t.revisionName} ${t.weight}%${t.label ? ` (${t.label})` : ''}`).join(', ');
}

/**
 * Traffic entries as the app holds them, `latestRevision` ones named as such (with the revision
 * they mean now): `latest revision (web--v1) 100%`.
 */
export function describeEntries(traffic: readonly TrafficEntry[], latestReady: string | undefined): string {
  if (traffic.length === 0) return 'no traffic';
  return traffic
    .map((t) => `${t.latestRevision ? `latest revision${latestReady ? ` (${latestReady})` : ''}` : (t.revisionName ?? '?')} ${t.weight ?? 0}%${t.label ? ` (${t.label})` : ''}`)
    .join(', ');
}

/** Whether the entries hold a `latestRevision` one (which rollgate pins while it works, and puts back after). */
export const followsLatest = (traffic: readonly TrafficEntry[] | undefined): boolean => (traffic ?? []).some((t) => t.latestRevision === true);

/** Largest length of a revision name (APP--SUFFIX) Container Apps accepts. */
const MAX_REVISION_NAME = 54;

/**
 * The revision suffix of a version: lowercase letters, digits and single hyphens, starting with a
 * letter (`1.4.2` → `v1-4-2`, `sha256:ab…` → `sha256-ab…`), short enough for APP--SUFFIX; `salt`
 * (the image) adds a short hash when another image already holds the plain suffix, and `n` (2,
 * 3…) a `-n` when the plain one is taken. The version's text is shortened first and the hash and
 * `-n` appended after, so that neither is cut off a long version (a git SHA, a digest).
 */
export function suffixOf(app: string, version: string, salt?: string, n?: number): string {
  let text = version.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(text)) text = `v${text}`;
  const hash = salt ? `-${createHash('sha256').update(salt).digest('hex').slice(0, 6)}` : '';
  const tail = `${hash}${n !== undefined && n > 1 ? `-${n}` : ''}`;
  const room = MAX_REVISION_NAME - app.length - 2 - tail.length;
  return `${text.slice(0, Math.max(1, room)).replace(/-+$/, '')}${tail}`;
}
