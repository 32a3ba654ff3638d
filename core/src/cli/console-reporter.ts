import type { RunEvent } from '../model/events.js';
import type { RunJournal } from '../model/journal.js';
import { describeEvent } from '../notifiers/describe.js';
import { formatDuration } from '../util/duration.js';
import { printable } from '../util/printable.js';

export interface ReporterOptions {
  write: (text: string) => void;
  color: boolean;
  /** Show every line of command output (default), or only the last few on failure. */
  verbose?: boolean;
}

const MARK: Partial<Record<RunEvent['kind'], string>> = {
  'run.started': '▶',
  'run.finished': '■',
  'run.paused': '⏸',
  'stage.started': '▶',
  'stage.skipped': '↷',
  'stage.finished': '■',
  'step.started': '·',
  'step.succeeded': '✓',
  'step.failed': '✗',
  'step.retrying': '↻',
  'rollback.started': '↶',
  'rollback.step': '↶',
  'rollback.finished': '↶',
  'manual-intervention.required': '!',
  'approval.requested': '?',
  'approval.decided': '✓',
  'decision.made': '→',
  'weight.changed': '%',
  'analysis.measured': '≈',
  'infra.changed': 'Δ',
  'probes.measured': '◎',
  'step.output': ' ',
  'notifier.failed': '!',
};

/** Progress as the run goes, one line per event, with the run clock's elapsed time. */
export function createConsoleReporter(opts: ReporterOptions): (event: RunEvent) => void {
  let startMs: number | undefined;
  const paint = (code: number, text: string) => (opts.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  return (event) => {
    const t = Date.parse(event.time);
    startMs ??= t;
    const elapsed = `+${formatDuration(t - startMs)}`.padStart(8);
    // Values from outside (versions, command output) never drive the terminal or the CI log.
    const text = `${MARK[event.kind] ?? '·'} ${printable(describeEvent(event))}`;
    const colored =
      event.kind === 'step.failed' || event.kind === 'manual-intervention.required' || (event.kind === 'rollback.step' && !event.ok)
        ? paint(31, text)
        : event.kind.startsWith('rollback') || event.kind === 'step.retrying'
          ? paint(33, text)
          : event.kind === 'step.succeeded' || (event.kind === 'stage.finished' && event.status === 'succeeded')
            ? paint(32, text)
            : event.kind === 'step.output'
              ? paint(2, text)
              : text;
    opts.write(`${paint(2, elapsed)} ${colored}\n`);
  };
}

/** The end-of-run table: every stage, its status, how long it took and why it ended so. */
export function formatSummary(journal: RunJournal): string {
  const rows = Object.entries(journal.stages).map(([name, r]) => {
    const took = r.startedAt && r.finishedAt ? formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : '-';
    return [name, r.environment, r.version, r.status, took, r.message ?? ''];
  });
  const header = ['STAGE', 'ENVIRONMENT', 'VERSION', 'STATUS', 'TOOK', 'NOTE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [`run ${journal.runId}: ${journal.status}`, line(header), ...rows.map(line)].join('\n') + '\n';
}
