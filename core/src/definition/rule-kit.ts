import type { Workflow } from './schema.js';

/**
 * What every validation rule is made of: the finding it returns, the rule's shape, and the small
 * helpers for messages (suggestions, lists). Rules live in rules.ts, value-rules.ts and
 * strategy-rules.ts; they share this file so that none of them imports another.
 */

export type PathSegment = string | number;
export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  /** Where the problem is, as keys and indices into the file's data. */
  path: PathSegment[];
  message: string;
  /** Point at the key itself (an unknown or badly named key) rather than at its value. */
  at?: 'key';
}

/**
 * A named check. `raw` rules read only the parsed file, so they also run when the schema fails
 * (a secret written into a broken file is still reported); `workflow` rules need the typed model.
 */
export type Rule =
  | { name: string; input: 'raw'; check(raw: unknown): Finding[] }
  | { name: string; input: 'workflow'; check(workflow: Workflow, raw: unknown): Finding[] };

/** An error at `path` (at its key with `at: 'key'`). */
export const error = (path: PathSegment[], message: string, at?: 'key'): Finding => ({
  severity: 'error',
  path,
  message,
  ...(at ? { at } : {}),
});

/** A warning at `path`: the workflow still loads. */
export const warning = (path: PathSegment[], message: string): Finding => ({ severity: 'warning', path, message });

/** A plain map (not null, not a list). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether the file itself has `path` (as opposed to a default filled in by the schema). */
export function hasKey(raw: unknown, path: PathSegment[]): boolean {
  let node = raw;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else if (isRecord(node) && Object.hasOwn(node, segment)) node = node[segment];
    else return false;
  }
  return true;
}

/** `; did you mean 'x'?` when one candidate is a likely typo of `word`, else ''. */
export function suggest(word: string, candidates: readonly string[]): string {
  const close = closest(word, candidates);
  return close ? `; did you mean '${close}'?` : '';
}

/**
 * The candidate within a small edit distance of `word` (ignoring case), if any. Candidates whose
 * length alone rules them out are skipped, so a long list costs little.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (candidate === word || Math.abs(candidate.length - word.length) >= bestDistance) continue;
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number) => d[i]?.[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

const LISTED = 20;

/** `label: a, b, c` (or `label: none`); a long list is cut after 20 names, saying how many more. */
export function listOr(label: string, names: readonly string[]): string {
  return `${label}: ${names.length ? listed(names) : 'none'}`;
}

/** The names joined with commas, cut after 20 with "and N more". */
export function listed(names: readonly string[]): string {
  if (names.length <= LISTED) return names.join(', ');
  return `${names.slice(0, LISTED).join(', ')} and ${names.length - LISTED} more`;
}

/** `environment prod` / `environments prod, dev`. */
export function plural(noun: string, names: readonly string[]): string {
  return `${noun}${names.length === 1 ? '' : 's'} ${listed(names)}`;
}
