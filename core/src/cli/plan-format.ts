import type { InspectedPlan } from '../engine/plan-inspect.js';
import { printable } from '../util/printable.js';

/** `rollgate plan` as text: stages by level, their condition's verdict and their steps. */
export function formatPlan(plan: InspectedPlan): string {
  const lines = [`plan for workflow ${plan.workflow} (nothing will be changed by this command)`];
  let level = -1;
  for (const s of plan.stages) {
    if (s.level !== level) {
      level = s.level;
      lines.push('', `level ${level}${plan.stages.filter((x) => x.level === level).length > 1 ? ' (these run in parallel)' : ''}:`);
    }
    const verdict = s.wouldRun === true ? 'will run' : s.wouldRun === false ? 'will be SKIPPED' : `cannot tell: ${s.wouldRun}`;
    lines.push(`  ${s.name} → ${s.environment}: ${s.version} via ${s.strategy} on ${s.target} — ${verdict}`);
    if (s.needs.length > 0) lines.push(`    needs: ${s.needs.join(', ')}`);
    if (s.when) lines.push(`    when: ${s.when}`);
    for (const [name, r] of Object.entries(s.probes)) {
      lines.push(`    probe ${name}: ${r.ok ? 'ok' : 'FAILED'} value=${JSON.stringify(r.value)} (${r.latencyMs}ms)${r.error ? ` ${r.error}` : ''}`);
    }
    if (s.approval) lines.push(`    approval: ${s.approval} gate before any change${s.approvalMessage ? `: ${s.approvalMessage}` : ''}`);
    lines.push(`    steps: ${s.steps.map((st) => st.id).join(' → ')}`);
    for (const st of s.steps) if (st.action === 'approval' && st.message) lines.push(`    ${st.id}: approval: ${st.message}`);
  }
  return printable(`${lines.join('\n')}\n`);
}
