import type { Workflow } from './schema.js';

/**
 * The second validation layer, between the schema and the rules: turns what the schema parsed
 * into the model the engine runs, for anything a schema cannot express. Pure; it never reports
 * problems (rules do) and must keep every array index and key where the file had it, because
 * rule findings are located in the file by those paths.
 *
 * Defaults that depend on another field live here: a `sim` router without a `service` splits
 * the traffic of the stage's `sim` target's service (not of a service named like the stage).
 */
export function normalize(workflow: Workflow): Workflow {
  return {
    ...workflow,
    stages: workflow.stages.map((stage) => {
      if (stage.router?.type !== 'sim' || stage.router.service || stage.target.type !== 'sim' || !stage.target.service) return stage;
      return { ...stage, router: { ...stage.router, service: stage.target.service } };
    }),
  };
}
