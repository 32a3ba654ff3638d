import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { UsageError, WorkflowConfigError } from '../errors.js';
import type { LoadedWorkflow } from '../definition/load.js';
import { failureSchema, simConfigSchema, type FailureSpec, type SimConfig } from '../sim/config.js';

const scenarioSchema = z.strictObject({
  description: z.string().optional(),
  failures: z.array(failureSchema),
});

/** A scenario file: failures to inject into the simulated infrastructure, kept apart from the workflow. */
export async function loadScenario(path: string): Promise<FailureSpec[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read scenario file ${path}: ${(err as Error).message}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new WorkflowConfigError(
      doc.errors.map((e) => ({ file: path, line: e.linePos?.[0]?.line, column: e.linePos?.[0]?.col, path: '', message: e.message.split('\n')[0] ?? '' })),
      'invalid scenario',
    );
  }
  const result = scenarioSchema.safeParse(doc.toJS());
  if (!result.success) {
    throw new WorkflowConfigError(
      result.error.issues.map((i) => ({ file: path, path: i.path.join('.'), message: i.message })),
      'invalid scenario',
    );
  }
  return result.data.failures;
}

/**
 * The workflow with the scenario's failures added to the simulated infrastructure of every
 * environment (each environment's own `sim` block, and the top-level one that the others share).
 * The workflow file is untouched: its hash, and so the journal's binding, stay the same.
 */
export function withScenario(loaded: LoadedWorkflow, failures: FailureSpec[]): LoadedWorkflow {
  if (failures.length === 0) return loaded;
  const add = (settings: SimConfig | undefined): SimConfig => {
    const base = settings ?? simConfigSchema.parse({});
    return { ...base, failures: [...base.failures, ...failures] };
  };
  const { workflow } = loaded;
  return {
    ...loaded,
    workflow: {
      ...workflow,
      sim: add(workflow.sim),
      environments: Object.fromEntries(Object.entries(workflow.environments).map(([name, env]) => [name, env.sim ? { ...env, sim: add(env.sim) } : env])),
    },
  };
}
