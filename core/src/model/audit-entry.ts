import type { Change, Evidence } from './events.js';
import type { ApprovalDecision } from './results.js';
import type { RunContext } from './run-context.js';

/**
 * One line of the audit trail: an event of a run, with who and where, what changed, and the
 * evidence behind any decision; chained to the line before it by a SHA-256 hash (and an HMAC
 * when a key is configured), so an edit, a deletion or a reordering is detected.
 */
export const AUDIT_FORMAT = 'rollgate/audit@1';

export type AuditOutcome = 'succeeded' | 'failed' | 'skipped' | 'paused' | 'rolled-back' | 'manual-intervention-required' | 'cancelled' | 'info';

export interface AuditEntry {
  format: typeof AUDIT_FORMAT;
  /** Position in this file's chain, from 1, continued across resumes. */
  seq: number;
  /** When it happened, in real time (ISO): also in a simulated run, where the run clock is virtual. */
  ts: string;
  /** Time on the simulated clock; present only for simulated runs. */
  simTime?: string;
  runId: string;
  /** The event's own sequence number in the run. */
  eventSeq: number;
  workflow: string;
  environment?: string;
  stage?: string;
  step?: string;
  actor: string;
  ci: { platform: RunContext['ci']; repository?: string; runUrl?: string; commit?: string; ref?: string; job?: string; change?: string };
  /**
   * The event kind (`stage.finished`, `decision.made`, `infra.changed`…), or `step.output.omitted`:
   * how many lines of a step's output the trail left out (the CI job log has them).
   */
  kind: string;
  outcome: AuditOutcome;
  /** One sentence for people. */
  message: string;
  /** Infrastructure changes: object, field, before → after. */
  changes: Change[];
  /** For decisions and measurements: the condition, the values and the verdict. */
  evidence?: Evidence & { verdict?: string };
  /** For approvals: who decided, when, and their comment. */
  approval?: ApprovalDecision & { gate: string };
  /** The hash of the previous entry (`null` for the first one of the file). */
  prevHash: string | null;
  /** SHA-256 over this entry's canonical JSON without `hash` and `hmac`, hex. */
  hash: string;
  /** HMAC-SHA256 of `hash` with the configured key, hex; present only when a key is configured. */
  hmac?: string;
}

export type UnsealedEntry = Omit<AuditEntry, 'seq' | 'prevHash' | 'hash' | 'hmac'>;
