import { UsageError } from '../errors.js';
import type { AuditEntry, AuditOutcome } from './entry.js';
import { parseEntry, readLines, trailFiles } from './read-lines.js';
import type { TrailPosition } from './verify.js';

/**
 * Searching trails, streaming: entries go to a callback as they are read, so a year of trails
 * is queried in constant memory. Entries come file by file (files sorted by path), each file in
 * its own order; nothing is sorted globally, which would mean holding everything.
 */
export interface AuditFilter {
  /** ISO date or time (`2026-01-31`, `2026-01-31T12:00:00Z`), or a duration back from now (`7d`, `24h`). Inclusive. */
  since?: string;
  until?: string;
  env?: string;
  stage?: string;
  actor?: string;
  /** Exact (`stage.finished`), or a prefix ending in `*` (`rollback.*`). */
  kind?: string;
  outcome?: string;
  /** Run id. */
  run?: string;
}

export interface QueryResult {
  files: number;
  /** Entries read, matching or not. */
  scanned: number;
  matched: number;
  /** Lines that are not entries (torn by a crash, or damaged): skipped, never fatal. */
  skipped: number;
  firstSkipped?: TrailPosition;
}

export type OnEntry = (entry: AuditEntry, where: TrailPosition & { text: string }) => void | Promise<void>;

/** Every outcome an entry can have; the compiler keeps this in step with `AuditOutcome`. */
const OUTCOMES = {
  succeeded: true,
  failed: true,
  skipped: true,
  paused: true,
  'rolled-back': true,
  'manual-intervention-required': true,
  cancelled: true,
  info: true,
} satisfies Record<AuditOutcome, true>;

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** A `--since`/`--until` value as epoch ms. Throws `UsageError` naming the flag. */
export function parseTimeBound(flag: string, text: string, now: number): number {
  const relative = /^(\d+)([smhdw])$/.exec(text);
  if (relative) return now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  // Date.parse alone accepts '7' or 'May'; a date must at least start like one.
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(`--${flag} '${text}' is neither a date (2026-01-31, 2026-01-31T12:00:00Z) nor a duration back from now (30m, 24h, 7d, 2w)`);
  }
  return ms;
}

/** The filter as one predicate; every value is checked before any file is read. */
export function compileFilter(filter: AuditFilter, now = Date.now()): (e: AuditEntry) => boolean {
  if (filter.outcome !== undefined && !Object.hasOwn(OUTCOMES, filter.outcome)) {
    throw new UsageError(`--outcome '${filter.outcome}' is not an outcome; use one of: ${Object.keys(OUTCOMES).join(', ')}`);
  }
  const since = filter.since === undefined ? -Infinity : parseTimeBound('since', filter.since, now);
  const until = filter.until === undefined ? Infinity : parseTimeBound('until', filter.until, now);
  const kind = filter.kind;
  const kindPrefix = kind?.endsWith('*') ? kind.slice(0, -1) : undefined;
  const exact: [keyof AuditEntry, string | undefined][] = [
    ['runId', filter.run],
    ['environment', filter.env],
    ['stage', filter.stage],
    ['actor', filter.actor],
    ['outcome', filter.outcome],
    ['kind', kindPrefix === undefined ? kind : undefined],
  ];
  const fields = exact.filter((f): f is [keyof AuditEntry, string] => f[1] !== undefined);
  const timed = since !== -Infinity || until !== Infinity;
  return (e) => {
    for (const [field, value] of fields) if (e[field] !== value) return false;
    if (kindPrefix !== undefined && !e.kind.startsWith(kindPrefix)) return false;
    if (!timed) return true;
    const ts = Date.parse(e.ts);
    return ts >= since && ts <= until;
  };
}

/**
 * Reads every entry of `inputs` (files, or folders: every `*.jsonl` below, sorted) and calls
 * `onEntry` for those that match, waiting for it when it returns a promise (back-pressure).
 */
export async function queryTrail(inputs: string[], filter: AuditFilter, onEntry: OnEntry, opts: { now?: number } = {}): Promise<QueryResult> {
  const matches = compileFilter(filter, opts.now);
  const files = await trailFiles(inputs);
  const result: QueryResult = { files: files.length, scanned: 0, matched: 0, skipped: 0 };
  for (const file of files) {
    for await (const line of readLines(file)) {
      const entry = parseEntry(line.text);
      if (!entry) {
        // A blank line is no entry and no damage either.
        if (line.text.trim() === '') continue;
        result.skipped += 1;
        result.firstSkipped ??= { file, line: line.number };
        continue;
      }
      result.scanned += 1;
      if (!matches(entry)) continue;
      result.matched += 1;
      const pending = onEntry(entry, { file, line: line.number, text: line.text });
      if (pending) await pending;
    }
  }
  return result;
}
