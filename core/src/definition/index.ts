/** The workflow definition layer: text or builder → validated, typed `Workflow`. */
export { loadWorkflowFile, parseWorkflow, formatPath } from './load.js';
export type { LoadedWorkflow, LoadResult } from './load.js';
export { normalize } from './normalize.js';
export { rules, runRules, findSecret, PLACEHOLDER_FORMS } from './rules.js';
export type { Finding, PathSegment, Rule, Severity } from './rules.js';
export { workflow, WorkflowBuilder } from './builder.js';
export type { BuilderStage } from './builder.js';
export { renderJsonSchema, workflowJsonSchema, WORKFLOW_SCHEMA_ID } from './json-schema.js';
export { workflowSchema } from './schema.js';
export type {
  ApprovalConfig,
  AuditSinkConfig,
  EnvironmentConfig,
  NotifierConfig,
  ProbeConfig,
  Stage,
  StrategyConfig,
  TargetConfig,
  Workflow,
  WorkflowInput,
} from './schema.js';
