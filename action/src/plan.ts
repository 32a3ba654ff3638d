import { inspectPlan, planRun, formatPlan, resolveInputs } from '../../core/src/index.js';
import { loadWorkflow, type ActionResult } from './execute.js';
import { engineEnv } from './github-env.js';
import type { ActionInputs } from './inputs.js';

/**
 * `mode: plan`: what would run, in which order, with the probes measured now and each `when`
 * evaluated; nothing is deployed, no journal or audit entry is written, no deployment recorded.
 * A pull-request job can show it before anyone merges.
 */
export async function plan(inputs: ActionInputs): Promise<ActionResult> {
  const loaded = await loadWorkflow(inputs.workflow, inputs.token);
  const env = engineEnv();
  const values = resolveInputs(loaded.workflow, inputs.inputs);
  const selection = { ...(inputs.stages.length > 0 ? { stages: inputs.stages } : {}), ...(inputs.environment ? { environment: inputs.environment } : {}) };
  const inspected = await inspectPlan(loaded, planRun(loaded.workflow, values, selection), values, env);
  const text = formatPlan(inspected);
  process.stdout.write(text);
  const skipped = inspected.stages.filter((s) => s.wouldRun === false).map((s) => s.name);
  return {
    result: 'planned',
    exitCode: 0,
    deployments: {},
    summaryText: text,
    summaryMarkdown: [
      `### rollgate plan: ${loaded.workflow.name}`,
      '',
      `${inspected.stages.length} stage(s)${skipped.length > 0 ? `; would skip ${skipped.join(', ')}` : ''}. Nothing was changed.`,
      '',
      '```text',
      text.trimEnd(),
      '```',
      '',
    ].join('\n'),
  };
}
