/**
 * The whole error taxonomy. Every error a user can meet is one of these classes, so adapters map
 * them to exit codes and messages in one place (see `exitCodeFor`). Messages say what happened,
 * where, and what to do next.
 */

/** One problem found in a workflow file or in user input. */
export interface ConfigIssue {
  /** File the problem is in, when it came from a file. */
  file?: string;
  /** 1-based line and column, when the position is known. */
  line?: number;
  column?: number;
  /** Dot path of the field, e.g. `stages.deploy.strategy.type`. */
  path: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.file
    ? `${issue.file}${issue.line ? `:${issue.line}:${issue.column ?? 1}` : ''}`
    : issue.line
      ? `line ${issue.line}:${issue.column ?? 1}`
      : '';
  const field = issue.path ? ` ${issue.path}:` : '';
  return `${where ? `${where}:` : ''}${field} ${issue.message}`.trim();
}

export class RollgateError extends Error {
  override readonly name: string = 'RollgateError';
}

/** The workflow file or the command line is wrong. Nothing was changed. Exit code 2. */
export class WorkflowConfigError extends RollgateError {
  override readonly name = 'WorkflowConfigError';
  constructor(
    readonly issues: ConfigIssue[],
    summary = 'invalid workflow',
  ) {
    super(`${summary}:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`);
  }
}

/** A plain usage error from the CLI or API (bad flag, unreadable file). Exit code 2. */
export class UsageError extends RollgateError {
  override readonly name = 'UsageError';
}

/** A backend (command, API, simulated infrastructure) failed. `retryable` drives retries. */
export class ProviderError extends RollgateError {
  override readonly name: string = 'ProviderError';
  readonly retryable: boolean;
  /**
   * `true` when the call certainly changed nothing (the program could not even be started): the
   * undo registered for it is dropped, since undoing a change that never began can do harm (a
   * revert with no previous version removes what was running).
   */
  readonly nothingChanged: boolean;
  constructor(message: string, options: { retryable?: boolean; cause?: unknown; nothingChanged?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? false;
    this.nothingChanged = options.nothingChanged ?? false;
  }
}

/** A metric source answered with nothing to measure. Never treated as a pass by itself. */
export class NoDataError extends ProviderError {
  override readonly name = 'NoDataError';
}

/** Verification or analysis judged the new version bad. */
export class AnalysisFailedError extends RollgateError {
  override readonly name = 'AnalysisFailedError';
}

/**
 * A pre-flight check did not hold (no capacity for a second copy, a schema the version cannot
 * use): the stage stops before it changes anything and ends `failed`; the run fails (exit 1).
 * Not invalid input: the workflow is fine, the infrastructure is not ready for it.
 */
export class PreflightFailedError extends RollgateError {
  override readonly name = 'PreflightFailedError';
}

/** A step or stage ran out of time. */
export class DeadlineExceededError extends RollgateError {
  override readonly name = 'DeadlineExceededError';
}

/** A monitor saw the rollout break a guard, the target's health, or background analysis. */
export class GuardBreachedError extends RollgateError {
  override readonly name = 'GuardBreachedError';
}

/**
 * Not a failure: a step asks the run to pause at a gate (an approval step, an inconclusive
 * analysis). The stage stops here and the run exits with code 3 until `resume` decides.
 */
export class PauseRequested extends RollgateError {
  override readonly name = 'PauseRequested';
  constructor(
    readonly gate: string,
    message: string,
  ) {
    super(message);
  }
}

/** A cancelled or timed-out step did not stop in time: what it changed is unknown. */
export class StepDidNotStopError extends RollgateError {
  override readonly name = 'StepDidNotStopError';
}

/** An approver said no. */
export class ApprovalRejectedError extends RollgateError {
  override readonly name = 'ApprovalRejectedError';
}

/** The run was cancelled (signal). */
export class CancelledError extends RollgateError {
  override readonly name = 'CancelledError';
}

/** The run journal cannot be used (corrupt, foreign, or from another workflow). Exit code 2. */
export class JournalError extends RollgateError {
  override readonly name = 'JournalError';
}

/** Compensations failed; the listed items are left for a human. Exit code 4. */
export class RollbackIncompleteError extends RollgateError {
  override readonly name = 'RollbackIncompleteError';
  constructor(
    message: string,
    readonly remaining: string[],
  ) {
    super(message);
  }
}

/** A bug in rollgate itself. */
export class InternalError extends RollgateError {
  override readonly name = 'InternalError';
}

/** Errors the user caused and can fix by changing input: shown without a stack trace. */
export function isUserError(err: unknown): boolean {
  return (
    err instanceof WorkflowConfigError || err instanceof UsageError || err instanceof JournalError
  );
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Why one delivery to a chat or webhook destination failed, classified so the delivery queue
 * knows what to do: wait as the destination asked (`retryAfterMs`, from a 429's `Retry-After`),
 * retry with backoff (`retryable`: 5xx, timeouts, network errors), or give up on this message
 * (`retryable: false`: a bad token, a channel that is gone, a payload refused). `fatal` says the
 * destination itself cannot work (invalid token, channel not found or archived): later messages
 * are not tried either. The message never contains a token or a webhook URL.
 */
export class DeliveryError extends RollgateError {
  override readonly name = 'DeliveryError';
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly fatal: boolean;
  constructor(message: string, options: { retryable?: boolean; retryAfterMs?: number; fatal?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.fatal = options.fatal ?? false;
  }
}
