import type { Workflow } from '../definition/schema.js';
import { UsageError } from '../errors.js';
import type { AnalysisRef, AnalysisResolver, MetricSpec } from '../ports/strategy.js';

/** Resolves `analysis: { templates, metrics }` against the workflow's named `analyses`. */
export function analysisResolver(workflow: Workflow): AnalysisResolver {
  return (ref: AnalysisRef) => {
    const fromTemplates = (ref.templates ?? []).flatMap((name) => {
      const template = workflow.analyses[name];
      if (!template) {
        throw new UsageError(`analysis template '${name}' is not defined; analyses: ${Object.keys(workflow.analyses).join(', ') || 'none'}`);
      }
      return template.metrics;
    });
    return [...fromTemplates, ...((ref.metrics ?? []) as MetricSpec[])];
  };
}
