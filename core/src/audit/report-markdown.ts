import type { AuditEntry } from './entry.js';
import { formatMeasured, type MetricUnit } from '../util/format-number.js';
import { formatValue, shortTime } from './query-format.js';
import type { BrokenEntry, VerifyResult } from './verify.js';

/**
 * The sections of a run report, from the run's entries in event order. Every value comes from
 * the trail as written: nothing is looked up elsewhere, so the report is as good as its chain.
 */
export function renderReport(runId: string, entries: AuditEntry[], chain: VerifyResult, files: string[]): string {
  return [
    header(runId, entries, chain),
    sessions(entries),
    timeline(entries),
    changes(entries),
    decisions(entries),
    analysis(entries),
    approvals(entries),
    rollback(entries),
    integrity(chain, files),
  ].join('\n');
}

const DASH = '—';

/** A table cell: one line, pipes escaped, no HTML (a message can quote command output). */
function cell(value: unknown): string {
  const s = value === undefined || value === '' ? DASH : formatValue(value);
  return s.replace(/\s+/g, ' ').replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

function table(headings: string[], rows: unknown[][], none: string): string {
  if (rows.length === 0) return `_${none}_\n`;
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headings), line(headings.map(() => '---')), ...rows.map((r) => line(r.map(cell)))].join('\n') + '\n';
}

const section = (title: string, body: string): string => `## ${title}\n\n${body}`;
const time = (e: AuditEntry): string => shortTime(e.ts);
const only = (entries: AuditEntry[], ...kinds: string[]) => entries.filter((e) => kinds.includes(e.kind));

function header(runId: string, entries: AuditEntry[], chain: VerifyResult): string {
  const first = entries[0] as AuditEntry;
  const last = entries[entries.length - 1] as AuditEntry;
  const starter = only(entries, 'run.started')[0] ?? first;
  const { ci } = starter;
  const finished = last.kind === 'run.finished';
  const rows = [
    ['Workflow', first.workflow],
    ['Run', runId],
    ['Started by', starter.actor],
    ['CI', [ci.platform, ci.job, ci.repository, ci.commit && `commit ${ci.commit}`, ci.ref, ci.change && `change ${ci.change}`].filter(Boolean).join(' · ')],
    ['Run URL', ci.runUrl],
    ['Start', `${time(first)} UTC`],
    ...(simulated(entries) ? [['Clock', 'simulated: times are real (UTC); the Timeline also shows each event on the simulated clock']] : []),
    ['End', finished ? `${time(last)} UTC` : DASH],
    ['Final status', finished ? `**${last.outcome}**` : `unfinished: the trail ends at ${last.kind} (still running, or its process died)`],
    ['Audit chain', chain.ok ? 'verifies (see Integrity)' : `**BROKEN** at ${where(chain)} (see Integrity)`],
  ];
  return `# Run report: ${runId}\n\n${rows.map(([name, value]) => `- **${name}:** ${cell(value)}`).join('\n')}\n`;
}

/** Who started and resumed the run, and from which CI job: each can differ. */
function sessions(entries: AuditEntry[]): string {
  const rows = only(entries, 'run.started').map((e, i) => [
    time(e),
    i === 0 ? 'started' : 'resumed',
    e.actor,
    e.ci.platform,
    e.ci.repository,
    e.ci.commit,
    e.ci.ref,
    e.ci.runUrl,
  ]);
  return section('Sessions', table(['Time (UTC)', 'What', 'By', 'CI', 'Repository', 'Commit', 'Ref', 'Run URL'], rows, 'No run.started entry in the trail.'));
}

/** A simulated run: its entries carry the virtual clock's time beside the real one. */
const simulated = (entries: AuditEntry[]): boolean => entries.some((e) => e.simTime !== undefined);

function timeline(entries: AuditEntry[]): string {
  // A command's output is the noisy part: counted here, listed by `audit query --kind step.output`.
  const shown = entries.filter((e) => e.kind !== 'step.output');
  const omitted = entries.length - shown.length;
  const note = omitted > 0 ? `\n${omitted} line(s) of step output are left out: \`rollgate audit query --run ${entries[0]?.runId} --kind step.output\` lists them.\n` : '';
  const body = simulated(entries)
    ? table(['Time (UTC)', 'Simulated time', 'Stage', 'What happened'], shown.map((e) => [time(e), e.simTime && shortTime(e.simTime), e.stage, e.message]), 'No entries.')
    : table(['Time (UTC)', 'Stage', 'What happened'], shown.map((e) => [time(e), e.stage, e.message]), 'No entries.');
  return section('Timeline', body + note);
}

function changes(entries: AuditEntry[]): string {
  const rows = entries.flatMap((e) => e.changes.map((c) => [time(e), e.stage, c.object, c.field, `${formatValue(c.before)} → ${formatValue(c.after)}`]));
  return section('Changes', table(['Time (UTC)', 'Stage', 'Object', 'Field', 'Before → after'], rows, 'No infrastructure change recorded.'));
}

/** Evidence values and probe readings as `name: value` pairs. */
function evidenceText(e: AuditEntry): string {
  const values = Object.entries(e.evidence?.values ?? {}).map(([k, v]) => `${k}: ${formatValue(v)}`);
  const probes = Object.entries(e.evidence?.probes ?? {}).map(([name, r]) => `${name}: ${formatValue(r.value)} (${r.ok ? 'ok' : `FAIL${r.error ? `: ${r.error}` : ''}`})`);
  return [...values, ...probes].join('; ');
}

function decisions(entries: AuditEntry[]): string {
  const rows = entries
    .filter((e) => e.kind === 'decision.made' || e.kind === 'probes.measured' || (e.kind === 'stage.skipped' && e.evidence))
    .map((e) => [time(e), e.stage, e.evidence?.verdict ?? 'probes measured', e.message, e.evidence?.condition, evidenceText(e)]);
  return section('Decisions and evidence', table(['Time (UTC)', 'Stage', 'Decision', 'Reason', 'Condition', 'Values'], rows, 'No decision recorded.'));
}

function analysis(entries: AuditEntry[]): string {
  const rows = only(entries, 'analysis.measured').map((e) => {
    const v = e.evidence?.values ?? {};
    // The trail keeps the exact value; the report shows it as people read it (`2.93%`), unit and all.
    const value = typeof v.value === 'number' ? formatMeasured(v.value, v.unit as MetricUnit | undefined) : (v.value ?? 'no data');
    return [time(e), e.stage, v.metric, value, e.evidence?.condition, e.evidence?.verdict, v.reason];
  });
  return section('Analysis', table(['Time (UTC)', 'Stage', 'Metric', 'Value', 'Condition', 'Verdict', 'Note'], rows, 'No analysis ran.'));
}

function approvals(entries: AuditEntry[]): string {
  const rows = only(entries, 'approval.requested', 'approval.decided').map((e) => {
    const a = e.approval;
    return a
      ? [time(e), e.stage, a.gate, a.status, a.by ?? 'unknown', a.at ? shortTime(a.at) : DASH, a.comment]
      : [time(e), e.stage, DASH, 'requested', DASH, DASH, e.message];
  });
  return section('Approvals', table(['Time (UTC)', 'Stage', 'Gate', 'Decision', 'By', 'When (UTC)', 'Comment'], rows, 'No approval gate.'));
}

const ROLLBACK_KINDS = ['rollback.started', 'rollback.step', 'rollback.finished', 'manual-intervention.required'];

function rollbackWhat(e: AuditEntry): string {
  if (e.kind === 'rollback.started') return 'rollback started';
  if (e.kind === 'rollback.step') return e.outcome === 'failed' ? '**undo failed**' : 'undone';
  if (e.kind === 'rollback.finished') return e.outcome === 'rolled-back' ? 'rollback complete' : '**rollback incomplete**';
  return '**manual intervention required**';
}

function rollback(entries: AuditEntry[]): string {
  const shown = only(entries, ...ROLLBACK_KINDS);
  const body = table(['Time (UTC)', 'Stage', 'What', 'Detail'], shown.map((e) => [time(e), e.stage, rollbackWhat(e), e.message]), 'Nothing was rolled back.');
  // Instructions for a person, when the entry carries them (`evidence.values.instructions`).
  const steps = only(shown, 'manual-intervention.required').flatMap((e) => {
    const list = e.evidence?.values?.instructions;
    return Array.isArray(list) ? [`\nWhat to do by hand (stage ${e.stage}, ${time(e)} UTC):\n`, ...list.map((s, i) => `${i + 1}. ${formatValue(s)}`)] : [];
  });
  return section('Rollback', body + (steps.length > 0 ? `${steps.join('\n')}\n` : ''));
}

function integrity(chain: VerifyResult, files: string[]): string {
  const read = `Read from: ${files.map((f) => `\`${f}\``).join(', ')}.`;
  const hmac = chain.hmacChecked ? ' Every HMAC matches the key given.' : chain.signed > 0 ? ' The entries carry HMACs, not checked (no key given).' : '';
  const torn = chain.torn.map((t) => `\nWarning: ${t.file}:${t.line}: ${t.message}.`).join('');
  const verdict = chain.ok
    ? `The chain verifies: ${chain.entries} entries, each hash matches its entry and links to the one before.${hmac}`
    : `**The chain does not verify**: ${where(chain)}: ${(chain.firstBroken as BrokenEntry).reason}. Entries from there on may have been altered; this report shows them as written.`;
  return section('Integrity', `${verdict}${torn}\n\n${read}\n`);
}

/** Where a broken chain breaks (only called when it does). */
function where(chain: VerifyResult): string {
  const at = chain.firstBroken as BrokenEntry;
  return `${at.file}:${at.line}`;
}
