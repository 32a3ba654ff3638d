import type { Workflow } from './schema.js';

/**
 * The second validation layer, between the schema and the rules: turns what the schema parsed
 * into the model the engine runs, for anything a schema cannot express. Pure; it never reports
 * problems (rules do) and must keep every array index and key where the file had it, because
 * rule findings are located in the file by those paths.
 *
 * Nothing needs it today: defaults that depend on another field of a stage are the providers'
 * own (a provider gets the stage's target in its deps). It stays as the place for the next one.
 */
export function normalize(workflow: Workflow): Workflow {
  return workflow;
}
