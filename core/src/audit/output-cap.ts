import type { RunEvent } from '../model/events.js';
import type { AuditContext, UnsealedEntry } from './entry.js';
import { toAuditEntry } from './from-event.js';

/**
 * How much of a step's output the audit trail records. A command can print millions of lines;
 * the trail is for what happened and why, and the CI job log keeps the output in full. So each
 * run of a step (each attempt) records its first `lines` lines, up to `bytes` of text, and then
 * one `step.output.omitted` entry that counts what it left out. That bounds what a chatty step
 * costs in memory and on disk, whatever it prints.
 */
export interface OutputLimits {
  lines: number;
  bytes: number;
}

/** The default allowance of each step: enough for any log a reviewer reads, small in memory. */
export const OUTPUT_LIMITS: OutputLimits = { lines: 10_000, bytes: 16 * 1024 * 1024 };

/** The kind of the entry that counts the output lines a step printed beyond the limits. */
export const OMITTED_KIND = 'step.output.omitted';

interface StepOutput {
  stage: string;
  step: string;
  lines: number;
  bytes: number;
  omittedLines: number;
  omittedBytes: number;
  /** The last line left out: the note takes its time and place in the run. */
  last?: RunEvent;
}

/** Counts each step's output and decides, event by event, what the trail records. */
export class OutputCap {
  private readonly steps = new Map<string, StepOutput>();

  constructor(private readonly limits: OutputLimits = OUTPUT_LIMITS) {}

  /**
   * What the trail records for `event`, in order: the notes of output left out that are due
   * before it (its step, its stage or the run moved on), then the event itself unless it is a
   * line of output beyond the limits.
   */
  admit(event: RunEvent, ctx: AuditContext): UnsealedEntry[] {
    if (event.kind === 'step.output') return this.output(event) ? [toAuditEntry(event, ctx)] : [];
    const notes: UnsealedEntry[] = [];
    for (const [key, s] of this.steps) {
      const due = dueFor(event, s);
      if (due === 'no') continue;
      const note = omittedEntry(s, this.limits, ctx);
      if (note) notes.push(note);
      s.omittedLines = 0;
      s.omittedBytes = 0;
      // A step that starts again (a retry) gets the whole allowance again; a stage that ends, or
      // a run, forgets its steps.
      if (due === 'reset') this.steps.delete(key);
    }
    return [...notes, toAuditEntry(event, ctx)];
  }

  /** Counts one line; true when it is within the limits. */
  private output(event: Extract<RunEvent, { kind: 'step.output' }>): boolean {
    const key = `${event.stage}\u0000${event.step}`;
    let s = this.steps.get(key);
    if (!s) {
      s = { stage: event.stage, step: event.step, lines: 0, bytes: 0, omittedLines: 0, omittedBytes: 0 };
      this.steps.set(key, s);
    }
    const size = Buffer.byteLength(event.line);
    if (s.lines < this.limits.lines && s.bytes + size <= this.limits.bytes) {
      s.lines += 1;
      s.bytes += size;
      return true;
    }
    s.omittedLines += 1;
    s.omittedBytes += size;
    s.last = event;
    return false;
  }
}

/**
 * Whether `event` ends a stretch of output of step `s`: an entry of the same step comes next, or
 * its stage or the run ends. Other events (a monitor sample beside a running step) do not: a step
 * keeps one allowance for all its output, however many entries of its stage come in between.
 */
function dueFor(event: RunEvent, s: StepOutput): 'no' | 'note' | 'reset' {
  if (event.kind === 'run.finished') return 'reset';
  if (!('stage' in event) || event.stage !== s.stage) return 'no';
  if (event.kind === 'stage.finished') return 'reset';
  if (!('step' in event) || event.step !== s.step) return 'no';
  return event.kind === 'step.started' ? 'reset' : 'note';
}

function omittedEntry(s: StepOutput, limits: OutputLimits, ctx: AuditContext): UnsealedEntry | undefined {
  if (s.omittedLines === 0 || !s.last) return undefined;
  const base = toAuditEntry(s.last, ctx);
  return {
    ...base,
    kind: OMITTED_KIND,
    outcome: 'info',
    message:
      `${s.stage}/${s.step}: ${s.omittedLines} more line${s.omittedLines === 1 ? '' : 's'} of output (${formatBytes(s.omittedBytes)}) not recorded in the audit trail, ` +
      `which keeps the first ${limits.lines} lines or ${formatBytes(limits.bytes)} of each step; the CI job log has the full output`,
    evidence: { values: { omittedLines: s.omittedLines, omittedBytes: s.omittedBytes, recordedLines: s.lines } },
  };
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}
