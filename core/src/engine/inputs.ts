import { escapeControl, inputValueProblem } from '../definition/input-values.js';
import type { Workflow } from '../definition/schema.js';
import { type ConfigIssue, WorkflowConfigError } from '../errors.js';

/**
 * Checks run-time inputs against the workflow's declarations and fills defaults. Every problem is
 * reported at once; an input the workflow does not declare is an error, not silently ignored, and
 * a value must pass its input's rule (`pattern`, `allowed`, or the default safe characters), so
 * newlines and escape bytes never reach versions, commands or logs.
 */
export function resolveInputs(workflow: Workflow, given: Record<string, string>): Record<string, string> {
  const issues: ConfigIssue[] = [];
  const declared = Object.keys(workflow.inputs);
  const out: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(workflow.inputs, name)) {
      const shown = escapeControl(name);
      issues.push({ path: `inputs.${shown}`, message: `unknown input '${shown}'; declared inputs: ${declared.join(', ') || 'none'}` });
    }
  }
  for (const [name, decl] of Object.entries(workflow.inputs)) {
    const value = Object.hasOwn(given, name) ? given[name] : decl.default;
    if (value === undefined) {
      if (decl.required) issues.push({ path: `inputs.${name}`, message: `input '${name}' is required: pass --input ${name}=VALUE` });
      continue;
    }
    const problem = inputValueProblem(name, value, decl);
    if (problem) {
      issues.push({ path: `inputs.${name}`, message: problem });
      continue;
    }
    out[name] = value;
  }
  if (issues.length > 0) throw new WorkflowConfigError(issues, 'invalid inputs');
  return out;
}
