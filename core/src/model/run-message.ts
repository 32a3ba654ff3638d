import type { RunEventKind, RunStatus, StageStatus } from './events.js';
import type { RunContext } from './run-context.js';

/**
 * The one message model every notifier renders (Slack blocks, a Teams card, a webhook's JSON, a
 * console block): the run as it stands after an event, built from the events alone
 * (notifiers/digest.ts), so a later process of the run builds the same one. Values are already
 * formatted for people (`2.93%`, `1m05s`).
 */
export type Severity = 'info' | 'success' | 'warning' | 'danger';

export interface Link {
  label: string;
  url: string;
}

/** The latest measurement of one metric, against its condition. */
export interface AnalysisLine {
  metric: string;
  /** Formatted with the metric's unit: `2.93%`, `0.0293`, `no data`. */
  value: string;
  condition: string;
  verdict: 'succeeded' | 'failed' | 'inconclusive' | 'errored';
  /** How many measurements of it so far. */
  count: number;
  /** Why (the provider's error, the no-data rule), when the verdict is not a plain pass or fail. */
  note?: string;
}

export interface StageView {
  name: string;
  environment: string;
  url?: string;
  strategy: string;
  version: string;
  /** What ran before, when the target reported it. */
  from?: string;
  status: StageStatus;
  /** The step in progress or last run: `index` of `of` steps. */
  step?: { id: string; action: string; index?: number; of?: number; attempt: number };
  /** Share of traffic on the new version, in percent. */
  weight?: number;
  analyses: AnalysisLine[];
  /** Why it failed: the step, the error, the last lines the command printed. */
  failure?: { step?: string; reason: string; output: string[] };
  rollback?: { reason: string; state: 'running' | 'complete' | 'incomplete'; remaining: string[] };
  /** The stage's closing note (a skip's reason, the end message). */
  note?: string;
}

export interface RunMessage {
  runId: string;
  workflow: string;
  status: RunStatus;
  severity: Severity;
  /** One line: what, where, how it stands (`web 1.4.2 → production: rolled back`). */
  title: string;
  /** What just happened, in a sentence (or the workflow's template for the event's kind). */
  text: string;
  context: RunContext;
  links: Link[];
  stages: StageView[];
  /** A gate waiting: who may decide and how. */
  approval?: { stage: string; gate: string; approver: string; message?: string; version?: string; environment?: string; how: string };
  /** A rollback a person must finish: what is left, and how to say it is done. */
  manual?: { stage: string; remaining: string[]; instructions: string[]; how: string };
  /** The event this message follows. */
  trigger: { kind: RunEventKind; seq: number; time: string };
  /** The run ended or waits for a person: the message shows its final state (for now). */
  final: boolean;
}
