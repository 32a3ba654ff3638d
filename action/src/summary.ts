import * as core from '@actions/core';
import { errorMessage, reportRun, type RunJournal, formatSummary } from '../../core/src/index.js';

/**
 * The job summary: a short status block (what happened, what to do next, the audit chain head)
 * and then the audit report core writes for the run (`rollgate audit report`): who, where,
 * timeline, changes, decisions with their evidence, approvals, rollback, and whether the chain
 * verifies. A run without a file audit sink gets the stage table instead.
 */

/** GitHub refuses a step summary over 1 MiB; stay under it with room for the closing note. */
const SUMMARY_LIMIT = 1_000_000;

export interface SummaryInput {
  journal: RunJournal;
  result: string;
  pausedGate?: string;
  next?: string;
  trail?: string;
  head?: { seq: number; hash: string };
  /** The HMAC key of the trail, when the workflow signs it, so the report checks it too. */
  key?: string;
  artifactName: string;
}

export async function runSummaryMarkdown(s: SummaryInput): Promise<string> {
  const lines = [
    `### rollgate: run \`${s.journal.runId}\` ${s.result}${s.pausedGate ? ` at \`${s.pausedGate}\`` : ''}`,
    '',
    ...(s.next ? [`> ${s.next}`, ''] : []),
    `- Journal and audit trail: artifact \`${s.artifactName}\` (uploaded at the end of the job)`,
    ...(s.head ? [`- Audit chain head: entry ${s.head.seq}, \`${s.head.hash}\` (check later with \`rollgate audit verify --head ${s.head.hash}\`)`] : []),
    '',
  ];
  let report: string;
  try {
    report = s.trail ? await reportRun([s.trail], s.journal.runId, s.key ? { key: s.key } : {}) : stageTable(s.journal);
  } catch (err) {
    report = `_The audit report could not be built: ${errorMessage(err)}_\n\n${stageTable(s.journal)}`;
  }
  return fit(`${lines.join('\n')}\n${report}`, s.journal.runId);
}

function stageTable(journal: RunJournal): string {
  return `\`\`\`text\n${formatSummary(journal)}\`\`\`\n`;
}

/** Cut at the limit, on a line boundary, saying where the whole report is. */
function fit(markdown: string, runId: string): string {
  if (Buffer.byteLength(markdown) <= SUMMARY_LIMIT) return markdown;
  const cut = Buffer.from(markdown).subarray(0, SUMMARY_LIMIT).toString('utf8');
  return `${cut.slice(0, cut.lastIndexOf('\n'))}\n\n_… (truncated at GitHub's 1 MiB summary limit: \`rollgate audit report --run ${runId}\` on the artifact gives all of it)_\n`;
}

export async function writeSummary(markdown: string): Promise<void> {
  try {
    await core.summary.addRaw(markdown, true).write();
  } catch (err) {
    // No GITHUB_STEP_SUMMARY (a local run): the log has the same story.
    core.info(`job summary not written: ${errorMessage(err)}`);
  }
}
