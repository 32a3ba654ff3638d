import type { RunMessage } from '../../model/run-message.js';
import { actionLines, analysisLines, outcomeLines, progressOf, runFacts, shownStages } from './facts.js';

const SEVERITY_MARK = { info: 'ℹ', success: '✓', warning: '⚠', danger: '✗' } as const;

/**
 * The message as plain text lines: the console notifier's block, a webhook's `text`, and the
 * fallback text of chat messages (notifications on a phone's lock screen show only this).
 */
export function renderText(m: RunMessage): string[] {
  const lines = [`${SEVERITY_MARK[m.severity]} ${m.title}`, `  ${m.text}`];
  lines.push(`  ${runFacts(m).map((f) => `${f.label.toLowerCase()}: ${f.value}`).join(' · ')}`);
  for (const a of actionLines(m)) lines.push(`  ${a}`);
  for (const s of shownStages(m)) {
    const progress = progressOf(s);
    const version = s.from && s.from !== s.version ? `${s.from} → ${s.version}` : s.version;
    lines.push(`  ${s.name} [${s.status}] ${version} to ${s.environment} (${s.strategy})${progress && s.status === 'running' ? `, ${progress}` : ''}`);
    for (const a of analysisLines(s)) lines.push(`    ${a}`);
    for (const o of outcomeLines(m, s)) lines.push(`    ${o}`);
    if (s.failure && s.failure.output.length > 0) {
      lines.push('    last output:');
      for (const l of s.failure.output) lines.push(`      | ${l}`);
    }
  }
  for (const l of m.links) lines.push(`  ${l.label}: ${l.url}`);
  return lines;
}
