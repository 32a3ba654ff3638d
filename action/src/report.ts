import * as core from '@actions/core';
import { errorMessage, formatIssue, isUserError, WorkflowConfigError, type RunJournal, printableLine } from '../../core/src/index.js';
import { ApprovalError } from './approvals.js';
import { InputsError } from './inputs.js';

/**
 * The one place that turns a failure into what GitHub shows: error annotations with the reason
 * (on the workflow file's line when rollgate knows it), and the one-line headline that the entry
 * point (main.ts or post.ts, the only callers of `setFailed`) fails the step with. A step shows at
 * most 10 error annotations, and `setFailed` adds one: the details stop at 9.
 */
const MAX_DETAILS = 9;

export interface Failure {
  /** The line `setFailed` shows; also the step's last annotation. */
  headline: string;
  /** The CLI's exit code for the same failure. */
  exitCode: number;
}

/** An error thrown before or instead of a run: bad inputs (2), refused by core (2), or a bug (70). */
export function reportError(err: unknown): Failure {
  if (err instanceof InputsError) {
    for (const p of err.problems.slice(0, MAX_DETAILS)) core.error(printableLine(`input '${p.input}' ${p.message}`), { title: `rollgate: input '${p.input}'` });
    const names = [...new Set(err.problems.map((p) => `'${p.input}'`))].join(', ');
    return { headline: `rollgate: invalid input ${names}: ${printableLine(err.problems[0]?.message ?? '')}`, exitCode: 2 };
  }
  if (err instanceof WorkflowConfigError) {
    // The workflow's own inputs come from the action's `inputs` input: name it, as for any input.
    const summary = (err.message.split('\n')[0] ?? 'invalid workflow').replace(/:$/, '');
    const title = summary === 'invalid inputs' ? "rollgate: input 'inputs'" : `rollgate: ${summary}`;
    for (const issue of err.issues.slice(0, MAX_DETAILS)) {
      core.error(printableLine(`${issue.path ? `${issue.path}: ` : ''}${issue.message}`), {
        title,
        ...(issue.file ? { file: issue.file } : {}),
        ...(issue.line ? { startLine: issue.line } : {}),
        ...(issue.column ? { startColumn: issue.column } : {}),
      });
    }
    const first = err.issues[0] ? `: ${formatIssue(err.issues[0])}` : '';
    const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
    return { headline: printableLine(`${title}${first}${more}`), exitCode: 2 };
  }
  if (isUserError(err) || err instanceof ApprovalError) return { headline: `rollgate: ${printableLine(errorMessage(err))}`, exitCode: 2 };
  if (err instanceof Error && err.stack) core.debug(err.stack);
  return { headline: `rollgate: unexpected error: ${printableLine(errorMessage(err))} (re-run with debug logging for the stack)`, exitCode: 70 };
}

/** A run that ended but not well: one annotation per stage that did not succeed, with its reason. */
export function reportRunFailure(journal: RunJournal, exitCode: number, extra: { journalError?: string; auditIncomplete: readonly string[] }): Failure {
  const stages = Object.entries(journal.stages).filter(([, r]) => !['succeeded', 'skipped', 'pending', 'paused'].includes(r.status));
  for (const [name, r] of stages.slice(0, MAX_DETAILS)) {
    core.error(printableLine(`${name} → ${r.environment} (${r.version}): ${r.status}${r.message ? `: ${r.message}` : ''}`), {
      title: `rollgate: stage ${name} ${r.status}`,
    });
  }
  const headline =
    exitCode === 5
      ? `rollgate: run ${journal.runId} ${journal.status}, but its journal was not written: ${extra.journalError ?? 'unknown error'}`
      : exitCode === 6
        ? `rollgate: run ${journal.runId} succeeded, but its audit trail is incomplete: ${extra.auditIncomplete.join('; ')}`
        : `rollgate: run ${journal.runId} ${journal.status}${journal.message ? `: ${journal.message}` : ''}`;
  return { headline: printableLine(headline), exitCode };
}
