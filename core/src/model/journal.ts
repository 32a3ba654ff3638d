import type { RunContext } from './run-context.js';
import type { RunStatus, StageStatus } from './events.js';
import type { ApprovalDecision } from './results.js';

/** The journal's format marker; a file without it is foreign and never touched. */
export const JOURNAL_FORMAT = 'rollgate/run-journal@1';

/** The undo operations a journal may name; engine/compensations.ts implements each one. */
export const COMPENSATION_OPS = ['target.revert', 'router.reset', 'candidate.restore-scale', 'candidate.remove', 'unit.revert'] as const;
export type CompensationOpName = (typeof COMPENSATION_OPS)[number];

/**
 * A compensation is data, not a closure, so a new process can run it after a crash: `op` names a
 * registered compensation kind and `params` are its JSON arguments.
 */
export interface CompensationRecord {
  id: string;
  stepId: string;
  description: string;
  op: CompensationOpName;
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
  /**
   * What the target said when the stage started (the version running then, `null` for none): the
   * plan follows from it (a first deploy, a re-deploy), and a resumed run plans the same.
   */
  facts?: { running: string | null };
  /** Why a skipped stage did not run: the need that failed, or `(run)` when the run stopped. */
  blockedBy?: string;
}

/**
 * A command in flight, by its process group: the journal keeps it from just after it starts until
 * it exits, so a resumed run can stop what a killed rollgate left running before it undoes.
 */
export interface ProcessRecord {
  /** Process group id; the command leads its own group, so this is also its pid. */
  pgid: number;
  /** Machine it runs on (`os.hostname()`): another machine's processes cannot be checked. */
  host: string;
  stage: string;
  step: string;
  /** What it is, for people (`deploy command of stage web`). */
  command: string;
  /** Wall-clock ISO time it started. */
  startedAt: string;
}

/**
 * A rollgate process that worked on the run. Every command it starts carries `token` in its
 * environment (ROLLGATE_PROCESS_TOKEN), so a resumed run finds that process's commands even when
 * it was killed before the journal recorded them, or when they left their process group.
 */
export interface WorkerRecord {
  token: string;
  pid: number;
  host: string;
  startedAt: string;
}

export interface RunJournal {
  format: typeof JOURNAL_FORMAT;
  runId: string;
  /**
   * The workflow file the run was started from. `binding` is a hash over that file's hash and what
   * the run decided from it (inputs, selection, each stage's version), keyed with the audit HMAC key
   * when one is configured: a journal edited by hand between two jobs is refused.
   */
  workflow: { name: string; path: string; sha256: string; binding?: string };
  context: RunContext;
  inputs: Record<string, string>;
  /**
   * Inputs whose values hold secrets: how to rebuild each from the environment on resume (text, or
   * the variable a secret came from). The file itself keeps them masked, never in the clear.
   */
  secretInputs?: Record<string, (string | { env: string })[]>;
  /** CLI selection that the run was started with, so resume runs the same subset. */
  selection: { stages?: string[]; environment?: string };
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  /** Last event sequence number written, so a resumed run keeps numbering. */
  seq: number;
  stages: Record<string, StageRecord>;
  /** Commands in flight as of the last save (see `ProcessRecord`). */
  processes?: ProcessRecord[];
  /** The rollgate processes that worked on this run, oldest first. */
  workers?: WorkerRecord[];
  /**
   * What the providers keep between processes, by provider key (`target/web`, `router/web`,
   * `FAMILY@production` for a family's shared state): each provider's own small JSON value (see ports/provider-state.ts).
   */
  providers?: Record<string, unknown>;
  /** Where a virtual clock stood at the last write, so a resumed run's clock continues from there. */
  clock?: { virtualNow: number };
  message?: string;
}
