import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { auditTrailHead } from '../audit/head.js';
import type { Workflow } from '../definition/schema.js';

/**
 * The lines that end a run's output with where its audit trail ends: one per `file` sink that
 * wrote this run. A CI log keeps them, so a trail cut short after the run (its remaining entries
 * still link to each other) is caught later by `rollgate audit verify FILE --head HASH`.
 */
export async function trailHeadLines(workflow: Workflow, runId: string, cwd = process.cwd()): Promise<string[]> {
  const dirs = workflow.audit.sinks.flatMap((s) => (s.type === 'file' ? [String((s as { dir?: string }).dir ?? '.rollgate/audit')] : []));
  const lines: string[] = [];
  for (const dir of [...new Set(dirs)]) {
    const file = join(resolve(cwd, dir), `${runId}.jsonl`);
    if (!existsSync(file)) continue;
    const head = await auditTrailHead(file);
    if (!head.hash) continue;
    const shown = relative(cwd, file).startsWith('..') ? file : relative(cwd, file);
    lines.push(`audit trail: ${shown} ends at entry ${head.seq}, head ${head.hash} (keep it: 'audit verify --head' checks it)`);
  }
  return lines;
}
