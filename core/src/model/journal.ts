import type { RunContext } from './run-context.js';
import type { RunStatus, StageStatus } from './events.js';
import type { ApprovalDecision } from './results.js';

/** The journal's format marker; a file without it is foreign and never touched. */
export const JOURNAL_FORMAT = 'rollgate/run-journal@1';

/**
 * A compensation is data, not a closure, so a new process can run it after a crash: `op` names a
 * registered compensation kind and `params` are its JSON arguments.
 */
export interface CompensationRecord {
  id: string;
  stepId: string;
  description: string;
  op: string;
  params: Record<string, unknown>;
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  error?: string;
}

export interface StepRecord {
  id: string;
  action: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

export interface StageRecord {
  status: StageStatus;
  environment: string;
  version: string;
  strategy?: string;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
  steps: StepRecord[];
  compensations: CompensationRecord[];
  approval?: ApprovalDecision;
  /** The gate the stage is paused at, when paused (the stage gate, or a step inside the stage). */
  pausedAt?: string;
  /** Decisions taken at gates inside the stage (approval steps, inconclusive analyses), by gate. */
  decisions?: Record<string, ApprovalDecision>;
  /** The strategy `auto` chose, so a resumed run goes on with the same one. */
  chosen?: unknown;
  /** Why a skipped stage did not run: the need that failed, or `(run)` when the run stopped. */
  blockedBy?: string;
}

export interface RunJournal {
  format: typeof JOURNAL_FORMAT;
  runId: string;
  workflow: { name: string; path: string; sha256: string };
  context: RunContext;
  inputs: Record<string, string>;
  /** CLI selection that the run was started with, so resume runs the same subset. */
  selection: { stages?: string[]; environment?: string };
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  /** Last event sequence number written, so a resumed run keeps numbering. */
  seq: number;
  stages: Record<string, StageRecord>;
  /** Opaque state of the simulated infrastructure, so a resumed run sees the same world. */
  sim?: unknown;
  message?: string;
}
