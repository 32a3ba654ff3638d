import { errorMessage, UsageError } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import type { AuditDrainReport, AuditSink } from '../ports/audit-sink.js';
import type { AuditContext } from './entry.js';
import { OutputCap, type OutputLimits } from './output-cap.js';

/**
 * From run events to the audit sinks: the entry of each event (a chatty step's output capped),
 * flushes while a step runs so that entries never pile up in memory, a check before the run that
 * every sink can write, and a last flush at the end that cannot hold the process for long and
 * says what did not arrive.
 */
export interface PipelineSink {
  sink: AuditSink;
  /** Where the workflow configures it, for messages: `audit.sinks[0]`. */
  path: string;
  /** A sink declared best-effort: its failures are warnings, never a reason to stop. */
  bestEffort: boolean;
  /** How to fix a sink that cannot be written, besides declaring it best-effort (`make X writable, …`). */
  fix?: string;
}

/** The sinks of a run and how the pipeline feeds them; the optional fields are tuning (tests). */
export interface AuditPipelineOptions {
  sinks: PipelineSink[];
  context: AuditContext;
  onWarning: (message: string) => void;
  /** Flush while a step runs once this many entries, or about this many bytes, wait. */
  flushEvery?: { entries: number; bytes: number };
  outputLimits?: OutputLimits;
  /** How long the last flush of all sinks may take, in ms. */
  drainMs?: number;
  /** A signal that aborts after `ms` (wall time); injected by tests. */
  timer?: (ms: number) => AbortSignal;
  /** Ends the last flush at once when it aborts (a person insisting that the process exit now). */
  stop?: AbortSignal;
}

/** During a step, a flush starts once this many entries, or about this many bytes, wait. */
export const FLUSH_EVERY = { entries: 1000, bytes: 1 << 20 };
/** How long the last flush of all sinks may take by default. */
export const DRAIN_MS = 10_000;
/** What an entry costs beyond its message, roughly: the fields every entry carries. */
const ENTRY_BYTES = 400;

interface SinkState extends PipelineSink {
  /** `audit.sinks[0] (file)` */
  name: string;
  failed: boolean;
  kicked?: Promise<void> | undefined;
  again: boolean;
}

/** The audit side of one run (or one resume): see the file's comment. */
export class AuditPipeline {
  private readonly sinks: SinkState[];
  private readonly cap: OutputCap;
  private waiting = { entries: 0, bytes: 0 };
  private readonly problems: string[] = [];
  /** From the last flush on, what a sink failed to deliver is said once, by its drain report. */
  private closing = false;

  constructor(private readonly opts: AuditPipelineOptions) {
    this.sinks = opts.sinks.map((s) => ({ ...s, name: `${s.path} (${s.sink.type})`, failed: false, again: false }));
    this.cap = new OutputCap(opts.outputLimits);
  }

  /**
   * Proves that every sink can write, before the run changes anything. Rejects with a
   * `UsageError` that names each sink that cannot, its destination, the cause and the fix; a
   * best-effort sink that cannot is a warning.
   */
  async open(): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      this.sinks.map(async (s) => {
        try {
          await s.sink.open();
        } catch (err) {
          if (s.bestEffort) this.opts.onWarning(`${s.name} is best-effort and cannot be written, so the run goes on without it: ${errorMessage(err)}`);
          else failures.push(`${s.name}: ${errorMessage(err)}. ${s.fix ? `${capitalize(s.fix)}, or set` : 'Set'} ${s.path}.bestEffort: true to run without it`);
        }
      }),
    );
    if (failures.length > 0) throw new UsageError(`the audit trail cannot be written, so the run was not started:\n  - ${failures.join('\n  - ')}`);
  }

  /** Queues the entries of `event` in every sink, and flushes those that have enough waiting. */
  record(event: RunEvent): void {
    // A resumed run is carried on by whoever resumed it: entries after that name them.
    if (event.kind === 'run.started') this.opts.context.context = event.context;
    if (this.sinks.length === 0) return;
    for (const entry of this.cap.admit(event, this.opts.context)) {
      for (const s of this.sinks) s.sink.record(entry);
      this.waiting.entries += 1;
      this.waiting.bytes += entry.message.length + ENTRY_BYTES;
    }
    const every = this.opts.flushEvery ?? FLUSH_EVERY;
    if (this.waiting.entries >= every.entries || this.waiting.bytes >= every.bytes) this.flushInBackground();
  }

  /**
   * Starts a flush of every sink without waiting for it (at a journal write): a slow collector
   * never holds the run, and what it has not taken by the end is left to the bounded `close`.
   */
  flushInBackground(): void {
    this.waiting = { entries: 0, bytes: 0 };
    for (const s of this.sinks) this.kick(s);
  }

  /** Flushes every sink and waits; a failure is a warning, once per sink. Never throws. */
  async flush(): Promise<void> {
    await Promise.all(this.sinks.map((s) => this.flushOne(s)));
  }

  /**
   * The last flush, under one deadline for all sinks. Warns about what each sink did not
   * deliver, and where it was kept; `incomplete` then lists it for sinks that are not best-effort.
   */
  async close(): Promise<void> {
    this.closing = true;
    const timed = (this.opts.timer ?? ((ms: number) => AbortSignal.timeout(ms)))(this.opts.drainMs ?? DRAIN_MS);
    const deadline = this.opts.stop ? AbortSignal.any([timed, this.opts.stop]) : timed;
    const reports = await Promise.all(this.sinks.map((s) => s.sink.close(deadline)));
    this.sinks.forEach((s, i) => {
      const text = describeReport(reports[i] as AuditDrainReport);
      if (!text) return;
      this.opts.onWarning(`${s.name}: ${text}`);
      if (!s.bestEffort) this.problems.push(`${s.name}: ${text}`);
    });
  }

  /**
   * After `close`: why a sink that is not best-effort does not hold the whole trail (empty when
   * every one does). A run whose trail is incomplete must not report plain success.
   */
  get incomplete(): readonly string[] {
    return this.problems;
  }

  /** Entries waiting in the sink that holds the most: what a chatty step costs in memory. */
  get queued(): number {
    return Math.max(0, ...this.sinks.map((s) => s.sink.queued));
  }

  private async flushOne(s: SinkState): Promise<void> {
    try {
      await s.sink.flush();
    } catch (err) {
      if (s.failed || this.closing) return;
      s.failed = true;
      this.opts.onWarning(`audit sink ${s.sink.type} failed: ${errorMessage(err)}`);
    }
  }

  /** One flush in flight per sink; entries that arrive meanwhile go with the next. */
  private kick(s: SinkState): void {
    if (s.kicked) {
      s.again = true;
      return;
    }
    s.kicked = this.flushOne(s).then(() => {
      s.kicked = undefined;
      if (!s.again) return;
      s.again = false;
      this.kick(s);
    });
  }
}

const capitalize = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

function describeReport(r: AuditDrainReport): string | undefined {
  const parts: string[] = [];
  const n = (count: number) => (count === 1 ? { what: '1 entry', was: 'was', is: 'is', it: 'it is' } : { what: `${count} entries`, was: 'were', is: 'are', it: 'they are' });
  if (r.undelivered > 0) {
    const u = n(r.undelivered);
    parts.push(r.keptIn ? `${u.what} could not be delivered (${r.error}); ${u.it} kept in ${r.keptIn}` : `${u.what} could not be written and ${u.is} lost (${r.error})`);
  }
  if (r.dropped > 0) parts.push(`${n(r.dropped).what} ${n(r.dropped).was} dropped during the run, while the destination could not take them`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}
