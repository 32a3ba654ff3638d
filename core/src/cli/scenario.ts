import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { UsageError, WorkflowConfigError } from '../errors.js';
import { failureSchema, type FailureSpec } from '../sim/config.js';

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
