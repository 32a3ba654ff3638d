import type { Change } from '../model/events.js';
import type { AuditEntry } from './entry.js';

/**
 * How query results are printed. Each entry becomes its text as soon as it is read (nothing is
 * held to size columns), so the table has fixed column widths and truncates what is longer.
 */
export const QUERY_FORMATS = ['table', 'json', 'csv'] as const;
export type QueryFormat = (typeof QUERY_FORMATS)[number];

export interface QueryFormatter {
  /** Printed before the first entry (even when none matches). */
  header: string;
  row(entry: AuditEntry, text: string): string;
}

export function queryFormatter(format: QueryFormat): QueryFormatter {
  switch (format) {
    case 'table':
      return { header: tableLine(TABLE.map(([label, width]) => [label, width])), row: tableRow };
    // The line exactly as written: hashes stay verifiable and nothing is lost.
    case 'json':
      return { header: '', row: (_entry, text) => `${text}\n` };
    case 'csv':
      return { header: csvRecord(CSV.map(([name]) => name)), row: (e) => csvRecord(CSV.map(([, get]) => get(e))) };
  }
}

/** A value as people read it: strings bare, nothing as `(none)`, the rest as JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '(none)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function formatChange(c: Change): string {
  return `${c.object} ${c.field}: ${formatValue(c.before)} → ${formatValue(c.after)}`;
}

/** `2026-01-02T10:00:00.000Z` → `2026-01-02 10:00:00`: seconds are enough to read a timeline. */
export function shortTime(ts: string | undefined): string {
  return String(ts).slice(0, 19).replace('T', ' ');
}

type Cell = [value: string | undefined, width: number, keepEnds?: boolean];

// Widths fit the usual values: a run id (`<workflow>-<yyyymmdd>-<hhmmss>-<6 hex>`) of a short
// workflow name, the longest common kinds. The message takes the rest of the line.
const TABLE: [label: string, width: number, get: (e: AuditEntry) => string | undefined, keepEnds?: boolean][] = [
  ['TIME (UTC)', 19, (e) => shortTime(e.ts)],
  // Run ids differ at both ends (workflow; time and random suffix): a long one keeps both.
  ['RUN', 28, (e) => e.runId, true],
  ['ENV', 12, (e) => e.environment],
  ['STAGE', 14, (e) => e.stage],
  ['ACTOR', 12, (e) => e.actor],
  ['KIND', 20, (e) => e.kind],
  ['OUTCOME', 12, (e) => e.outcome],
  ['MESSAGE', 120, (e) => e.message],
];

function tableRow(e: AuditEntry): string {
  return tableLine(TABLE.map(([, width, get, keepEnds]) => [get(e), width, keepEnds]));
}

function tableLine(cells: Cell[]): string {
  const last = cells.length - 1;
  const text = cells.map(([value, width, keepEnds], i) => {
    // An entry from another writer may lack a field: a dash, never a crash.
    const s = String(value ?? '-').replace(/\s+/g, ' ');
    const fitted = s.length <= width ? s : keepEnds ? middle(s, width) : `${s.slice(0, width - 1)}…`;
    return i === last ? fitted : fitted.padEnd(width);
  });
  return `${text.join('  ')}\n`;
}

function middle(s: string, width: number): string {
  const head = Math.ceil((width - 1) / 2);
  return `${s.slice(0, head)}…${s.slice(s.length - (width - 1 - head))}`;
}

const json = (v: unknown): string => (v === undefined ? '' : JSON.stringify(v));

const CSV: [name: string, get: (e: AuditEntry) => string | number | undefined][] = [
  ['time', (e) => e.ts],
  ['run', (e) => e.runId],
  ['seq', (e) => e.seq],
  ['event_seq', (e) => e.eventSeq],
  ['workflow', (e) => e.workflow],
  ['environment', (e) => e.environment],
  ['stage', (e) => e.stage],
  ['step', (e) => e.step],
  ['actor', (e) => e.actor],
  ['ci', (e) => e.ci?.platform],
  ['repository', (e) => e.ci?.repository],
  ['commit', (e) => e.ci?.commit],
  ['ref', (e) => e.ci?.ref],
  ['run_url', (e) => e.ci?.runUrl],
  ['kind', (e) => e.kind],
  ['outcome', (e) => e.outcome],
  ['message', (e) => e.message],
  ['changes', (e) => (e.changes ?? []).map(formatChange).join('; ')],
  ['evidence', (e) => json(e.evidence)],
  ['approval', (e) => json(e.approval)],
  ['hash', (e) => e.hash],
  // Last, so that the columns before it keep their places: the virtual time of a simulated run.
  ['sim_time', (e) => e.simTime],
];

/** One RFC 4180 record: a field with a comma, quote or line break is quoted, quotes doubled; CRLF. */
export function csvRecord(fields: (string | number | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

function csvField(value: string | number | undefined): string {
  const s = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
