import { UsageError } from '../errors.js';
import type { AuditEntry } from './entry.js';
import { parseEntry, readLines, trailFiles } from './read-lines.js';
import { renderReport } from './report-markdown.js';
import { verifyTrail } from './verify.js';

/**
 * A Markdown account of one run for a reviewer or an auditor: who ran what where, what changed,
 * why each decision was taken and on which values, who approved, what was rolled back, and
 * whether the trail it is built from is intact.
 */
export interface ReportOptions {
  /** HMAC key, to check the entries' HMACs too. */
  key?: string;
}

/** How many run ids an "unknown run" error lists. */
const RUNS_LISTED = 10;

export async function reportRun(inputs: string[], runId: string, opts: ReportOptions = {}): Promise<string> {
  const files = await trailFiles(inputs);
  if (files.length === 0) throw new UsageError(`no audit files (*.jsonl) in ${inputs.join(', ')}: pass the folder or files that hold the run's trail`);
  const found = await collectRun(files, runId);
  if (found.entries.length === 0) throw new UsageError(unknownRun(runId, inputs, files.length, found.runs));
  const chain = await verifyTrail(found.files, opts);
  return renderReport(runId, found.entries, chain, found.files);
}

interface Collected {
  /** The run's entries, by their event seq: a resumed run's copies of one event count once. */
  entries: AuditEntry[];
  /** Files that hold entries of the run, in path order. */
  files: string[];
  /** The run of each file's first entry, for the "unknown run" error. */
  runs: Set<string>;
}

/**
 * Every file is read (a run's entries can be in any of them: resumed on several runners, or
 * renamed), but JSON parsing is the cost, so only lines that name the run are parsed, and each
 * file's first entry, whose run id names the file's run when the one asked for is not there.
 */
async function collectRun(files: string[], runId: string): Promise<Collected> {
  const needle = JSON.stringify(runId).slice(1, -1);
  const byEventSeq = new Map<number, AuditEntry>();
  const holding: string[] = [];
  const runs = new Set<string>();
  for (const file of files) {
    let holds = false;
    let fileRun: string | undefined;
    for await (const line of readLines(file)) {
      if (fileRun !== undefined && !line.text.includes(needle)) continue;
      const entry = parseEntry(line.text);
      // Torn or damaged lines are left to the chain check, which the report shows.
      if (!entry) continue;
      fileRun ??= entry.runId;
      if (entry.runId !== runId) continue;
      holds = true;
      // A run resumed on a runner that downloaded the earlier trail repeats its entries.
      if (!byEventSeq.has(entry.eventSeq)) byEventSeq.set(entry.eventSeq, entry);
    }
    if (fileRun !== undefined) runs.add(fileRun);
    if (holds) holding.push(file);
  }
  const entries = [...byEventSeq.values()].sort((a, b) => a.eventSeq - b.eventSeq);
  return { entries, files: holding, runs };
}

function unknownRun(runId: string, inputs: string[], fileCount: number, runs: Set<string>): string {
  const listed = [...runs].slice(0, RUNS_LISTED);
  const found = runs.size === 0 ? 'they hold no readable entries' : `runs found: ${listed.join(', ')}${runs.size > RUNS_LISTED ? `, … (${runs.size} in all)` : ''}`;
  return `run ${runId} is not in the audit trail at ${inputs.join(', ')} (${fileCount} file${fileCount === 1 ? '' : 's'}); ${found}. Pass one of those to --run, or the folder that holds the run's trail.`;
}
