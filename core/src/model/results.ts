/** Plain data exchanged through ports. Everything here is JSON-serialisable. */

/** The outcome of one probe: never thrown, always data, so conditions can test `ok`. */
export interface ProbeResult {
  ok: boolean;
  /** The measured value (a number, a string, a status); `null` when nothing was measured. */
  value: number | string | boolean | null;
  latencyMs: number;
  error?: string;
  /** Extra fields a probe type exposes to conditions (e.g. `status`, `freeCpu`). */
  details?: Record<string, number | string | boolean | null>;
}

export type ProbeSnapshot = Record<string, ProbeResult>;

/** What a target runs now. */
export interface DeployedState {
  version: string;
  /** Extra facts for the audit trail (replicas, node set…). */
  details?: Record<string, unknown>;
}

export interface HealthReport {
  healthy: boolean;
  /** Units ready / total, e.g. pods or nodes. */
  ready: number;
  total: number;
  message?: string;
}

/** A traffic split: percentage of requests sent to the new version. */
export interface Weights {
  canary: number;
}

export type ApprovalStatus = 'approved' | 'rejected' | 'pending';

export interface ApprovalDecision {
  status: ApprovalStatus;
  by?: string;
  comment?: string;
  at?: string;
}
