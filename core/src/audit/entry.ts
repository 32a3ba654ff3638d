import type { RunEvent } from '../model/events.js';
import type { RunContext } from '../model/run-context.js';

/* The entry's shape lives in model/ (ports and readers use it); what the writer needs, here. */
export { AUDIT_FORMAT } from '../model/audit-entry.js';
export type { AuditEntry, AuditOutcome, UnsealedEntry } from '../model/audit-entry.js';

/** What the run knows beyond the event itself: filled by the audit writer. */
export interface AuditContext {
  workflow: string;
  context: RunContext;
  /** Each stage's environment, so entries of a stage say where they happened. */
  environments: Record<string, string>;
}

export type { RunEvent };
