import type { RunJournal } from '../../core/src/index.js';
import type { Decision } from './inputs.js';
import { describeApiError, type GitHubApi, type Review } from './github-api.js';

/**
 * Who decided a gate, as GitHub recorded it. The resume job runs in a protected environment, so
 * GitHub starts it only once a required reviewer approved; that reviewer, read back from the
 * run's review history (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`), is the
 * approver rollgate records, never the person who pushed or re-ran the workflow.
 */
export interface GateDecision {
  approve: boolean;
  by: string;
  comment?: string;
}

/** A gate cannot be decided as asked; the message says what to set up. Exit 2, nothing changed. */
export class ApprovalError extends Error {
  override readonly name = 'ApprovalError';
}

/** The stage the journal is paused at, and the environment its review belongs to. */
export function pausedStage(journal: RunJournal): { stage: string; gate: string; environment: string } | undefined {
  for (const [stage, record] of Object.entries(journal.stages)) {
    if (record.status === 'paused') return { stage, gate: record.pausedAt ?? 'gate', environment: record.environment };
  }
  return undefined;
}

export interface DecisionRequest {
  api: GitHubApi;
  runId: number | undefined;
  decision: Decision;
  /** The GitHub environment whose review decides (approval-environment, or the stage's). */
  environment: string;
  /** Recorded when the reviewer left no comment (the `comment` input). */
  comment?: string;
}

export async function decideGate(req: DecisionRequest): Promise<GateDecision> {
  if (req.runId === undefined) throw new ApprovalError('GITHUB_RUN_ID is not set: the review history of the workflow run cannot be read, so no approver can be recorded');
  let reviews: Review[];
  try {
    reviews = await req.api.reviews(req.runId);
  } catch (err) {
    throw new ApprovalError(`cannot read who reviewed environment '${req.environment}' in run ${req.runId}: ${describeApiError(err, 'actions: read')}`);
  }
  const wanted = req.decision === 'approve' ? 'approved' : 'rejected';
  const env = req.environment.toLowerCase();
  // The history is oldest first; a re-run attempt may add a newer review of the same environment.
  const review = reviews.filter((r) => r.state === wanted && r.environments.some((e) => e.toLowerCase() === env)).at(-1);
  const comment = review?.comment || req.comment;
  if (review) return { approve: req.decision === 'approve', by: review.login, ...(comment ? { comment } : {}) };
  if (req.decision === 'approve') {
    throw new ApprovalError(
      `GitHub reports no approval of environment '${req.environment}' in run ${req.runId}: run the resume job in that environment ` +
        `(jobs.<id>.environment: ${req.environment}) and protect it with required reviewers (Settings → Environments → ${req.environment}), ` +
        'or set approval-environment to the environment the job runs in',
    );
  }
  // A gate no one approved: rejected without a recorded review, timed out, or its job cancelled.
  return {
    approve: false,
    by: 'github-actions',
    comment: comment ?? `no approval of environment '${req.environment}' was recorded in run ${req.runId} (rejected, timed out or cancelled)`,
  };
}
