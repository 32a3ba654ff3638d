import type { ApprovalDecision, ProbeSnapshot } from './results.js';
import type { MetricUnit } from './units.js';
import type { RunContext } from './run-context.js';

/**
 * Everything a run does is one of these events. Reporters, notifiers, the audit trail and tests
 * consume them; nothing else writes them. Kinds are lowercase dotted strings, never enums.
 */
export type RunStatus =
  | 'running'
  | 'paused'
  | 'succeeded'
  | 'failed'
  | 'rolled-back'
  | 'manual-intervention-required'
  | 'cancelled';

export type StageStatus =
  | 'pending'
  | 'skipped'
  | 'running'
  | 'paused'
  | 'succeeded'
  | 'failed'
  | 'rolled-back'
  | 'manual-intervention-required'
  | 'cancelled';

/** One infrastructure change: what object, which field, before and after. */
export interface Change {
  object: string;
  field: string;
  before: unknown;
  after: unknown;
}

/** What a decision was based on: the condition text and the values it saw. */
export interface Evidence {
  condition?: string;
  values?: Record<string, unknown>;
  probes?: ProbeSnapshot;
}

interface Base {
  /** Monotonic within a run, across resumes. */
  seq: number;
  /** ISO time on the run's clock (virtual in a simulated run). */
  time: string;
  /**
   * ISO wall-clock time, present only when the run's clock is simulated (`time` is then virtual):
   * what a person or a real system did is recorded at this real moment.
   */
  wallTime?: string;
  runId: string;
}

export type RunEventBody =
  | { kind: 'run.started'; workflow: string; context: RunContext; inputs: Record<string, string>; resumed: boolean }
  | { kind: 'run.finished'; status: RunStatus; durationMs: number; message?: string }
  | { kind: 'run.paused'; stage: string; gate: string; message: string }
  | {
      kind: 'stage.started';
      stage: string;
      environment: string;
      strategy: string;
      version: string;
      /** How many steps the strategy planned, for "step n of m". */
      steps?: number;
      /** The environment's `url`, shown in notifications. */
      url?: string;
    }
  | { kind: 'stage.skipped'; stage: string; reason: string; evidence?: Evidence }
  | { kind: 'stage.finished'; stage: string; status: StageStatus; message?: string }
  | { kind: 'probes.measured'; stage?: string; snapshot: ProbeSnapshot }
  | { kind: 'decision.made'; stage: string; decision: string; reason: string; evidence: Evidence }
  | {
      kind: 'step.started';
      stage: string;
      step: string;
      action: string;
      attempt: number;
      /** 1-based position of the step in its stage's plan (of `stage.started`'s `steps`). */
      index?: number;
    }
  | { kind: 'step.retrying'; stage: string; step: string; attempt: number; delayMs: number; error: string }
  | { kind: 'step.succeeded'; stage: string; step: string; durationMs: number; message?: string }
  | { kind: 'step.failed'; stage: string; step: string; error: string; errorKind: string }
  | { kind: 'step.output'; stage: string; step: string; stream: 'stdout' | 'stderr'; line: string }
  | { kind: 'infra.changed'; stage: string; step: string; change: Change }
  | { kind: 'weight.changed'; stage: string; from: number; to: number; note?: string }
  | {
      kind: 'analysis.measured';
      stage: string;
      metric: string;
      value: number | null;
      condition: string;
      /** The query as it was sent, its placeholders filled (absent in entries written before it was kept). */
      query?: string;
      verdict: 'succeeded' | 'failed' | 'inconclusive' | 'errored';
      message?: string;
      /** The metric's `unit`, so every renderer shows `2.93%` rather than 0.029286…. */
      unit?: MetricUnit;
    }
  | {
      kind: 'approval.requested';
      stage: string;
      gate: string;
      approver: string;
      /** What approvers are asked (the gate's `message`): shown wherever the request is. */
      message?: string;
      /** The version waiting for the decision and where it goes. */
      version?: string;
      environment?: string;
    }
  | { kind: 'approval.decided'; stage: string; gate: string; decision: ApprovalDecision }
  | { kind: 'rollback.started'; stage: string; reason: string; steps: number }
  | { kind: 'rollback.step'; stage: string; compensation: string; ok: boolean; error?: string }
  | { kind: 'rollback.finished'; stage: string; complete: boolean; remaining: string[] }
  | { kind: 'manual-intervention.required'; stage: string; remaining: string[]; instructions: string[] }
  | {
      /**
       * A notification destination that keeps failing (a bad token, a channel that is gone, a
       * webhook down for the whole run): said once per destination. The deployment's result does
       * not change.
       */
      kind: 'notifier.failed';
      notifier: string;
      /** Where it sends, safe to show (a channel name, a host; never a token or a webhook URL). */
      destination: string;
      error: string;
      /** Messages that were not delivered because of it, so far. */
      undelivered: number;
    };

export type RunEvent = Base & RunEventBody;
export type RunEventKind = RunEventBody['kind'];

/** Distributive helpers so callers can narrow by `kind`. */
export type EventOf<K extends RunEventKind> = Extract<RunEvent, { kind: K }>;

/** Every kind, checked against the union at compile time: what `on:` filters and templates may name. */
const KINDS: Record<RunEventKind, true> = {
  'run.started': true,
  'run.finished': true,
  'run.paused': true,
  'stage.started': true,
  'stage.skipped': true,
  'stage.finished': true,
  'probes.measured': true,
  'decision.made': true,
  'step.started': true,
  'step.retrying': true,
  'step.succeeded': true,
  'step.failed': true,
  'step.output': true,
  'infra.changed': true,
  'weight.changed': true,
  'analysis.measured': true,
  'approval.requested': true,
  'approval.decided': true,
  'rollback.started': true,
  'rollback.step': true,
  'rollback.finished': true,
  'manual-intervention.required': true,
  'notifier.failed': true,
};
export const EVENT_KINDS = Object.keys(KINDS) as readonly RunEventKind[];
