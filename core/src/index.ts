/**
 * rollgate's public API: load a workflow, plan it, run or resume it, and the ports and types to
 * build your own providers. Named re-exports only.
 */
export { loadWorkflowFile, parseWorkflow } from './definition/load.js';
export type { LoadedWorkflow, LoadResult } from './definition/load.js';
export { workflow } from './definition/builder.js';
export { workflowJsonSchema } from './definition/json-schema.js';
export type { Workflow, WorkflowInput, Stage } from './definition/schema.js';
export { runWorkflow, resumeRun, exitCodeFor } from './engine/executor.js';
export type { RunOptions, ResumeOptions, RunOutcome } from './engine/executor.js';
export { planRun } from './engine/plan.js';
export type { ExecutionPlan, StagePlan, Selection } from './engine/plan.js';
export { inspectPlan } from './engine/plan-inspect.js';
export { FileRunStore } from './engine/file-run-store.js';
export { MemoryRunStore } from './engine/memory-run-store.js';
export { createRealClock } from './clocks/real.js';
export { createVirtualClock } from './clocks/virtual.js';
export { describeEvent } from './notifiers/describe.js';
export { signWebhook, verifyWebhookSignature } from './notifiers/webhook.js';
export type { WebhookPayload } from './notifiers/webhook.js';
export { verifyTrail } from './audit/verify.js';
export { auditTrailHead } from './audit/head.js';
export { queryTrail } from './audit/query.js';
export { reportRun } from './audit/report.js';
export type { AuditEntry } from './audit/entry.js';
// The CLI's own edge pieces, for CI adapters that must lock, print and plan exactly as it does.
export { acquireRunLock } from './cli/run-lock.js';
export type { RunLock } from './cli/run-lock.js';
export { createConsoleReporter, formatSummary } from './cli/console-reporter.js';
export { formatPlan } from './cli/plan-format.js';
export { resolveInputs } from './engine/inputs.js';
export { secretVariableNames } from './engine/run-setup.js';
export { printable, printableLine } from './util/printable.js';
export * from './errors.js';
export type * from './model/index.js';
export type { Approver, ApprovalRequest } from './ports/approver.js';
export type { AuditSink } from './ports/audit-sink.js';
export type { Clock } from './ports/clock.js';
export type { Logger } from './ports/logger.js';
export type { MetricProvider } from './ports/metric-provider.js';
export type { Notifier } from './ports/notifier.js';
export type { Probe } from './ports/probe.js';
export type { ProviderDeps } from './ports/provider-deps.js';
export type { RunStore } from './ports/run-store.js';
export type { StepContext } from './ports/step-context.js';
export type { Strategy, StrategyStep } from './ports/strategy.js';
export type { Target } from './ports/target.js';
export type { TrafficRouter } from './ports/traffic-router.js';
