import type { Workflow } from './schema.js';

/**
 * The second validation layer, between the schema and the rules: turns what the schema parsed
 * into the model the engine runs, for anything a schema cannot express. Pure; it never reports
 * problems (rules do) and must keep every array index and key where the file had it, because
 * rule findings are located in the file by those paths.
 *
 * Nothing needs normalising yet: every default is declared in the schema, where the generated
 * JSON Schema shows it to editors. This is the seam for what comes next (for example expanding
 * a shorthand into its long form).
 */
export function normalize(workflow: Workflow): Workflow {
  return workflow;
}
