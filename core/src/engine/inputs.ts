import { type ConfigIssue, WorkflowConfigError } from '../errors.js';
import type { Workflow } from '../definition/schema.js';

/**
 * Checks run-time inputs against the workflow's declarations and fills defaults. Every problem is
 * reported at once; an input the workflow does not declare is an error, not silently ignored.
 */
export function resolveInputs(workflow: Workflow, given: Record<string, string>): Record<string, string> {
  const issues: ConfigIssue[] = [];
  const declared = Object.keys(workflow.inputs);
  const out: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(workflow.inputs, name)) {
      issues.push({ path: `inputs.${name}`, message: `unknown input '${name}'; declared inputs: ${declared.join(', ') || 'none'}` });
    }
  }
  for (const [name, decl] of Object.entries(workflow.inputs)) {
    const value = Object.hasOwn(given, name) ? given[name] : decl.default;
    if (value === undefined) {
      if (decl.required) issues.push({ path: `inputs.${name}`, message: `input '${name}' is required: pass --input ${name}=VALUE` });
      continue;
    }
    if (decl.allowed && !decl.allowed.includes(value)) {
      issues.push({ path: `inputs.${name}`, message: `input '${name}' is '${value}'; allowed: ${decl.allowed.join(', ')}` });
      continue;
    }
    out[name] = value;
  }
  if (issues.length > 0) throw new WorkflowConfigError(issues, 'invalid inputs');
  return out;
}
