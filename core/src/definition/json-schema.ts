import { z } from 'zod';
import { workflowSchema } from './schema.js';

/** Identifies this version of the file format; editors find the schema by path or URL, not by id. */
export const WORKFLOW_SCHEMA_ID = 'urn:rollgate:workflow:1';

/**
 * The JSON Schema of a workflow file, generated from the zod schema. It describes what a user
 * writes (`io: 'input'`): defaults are optional, durations are text. Editors use it for
 * completion and tooltips (every field's description comes from its `.describe()`).
 */
export function workflowJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(workflowSchema, { io: 'input', target: 'draft-2020-12' });
  return { $schema, $id: WORKFLOW_SCHEMA_ID, title: 'rollgate workflow', ...rest };
}

/** The committed `workflow.schema.json` text: two-space JSON and a final newline. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`;
}
