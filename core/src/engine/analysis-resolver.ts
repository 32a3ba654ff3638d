import type { Workflow } from '../definition/schema.js';
import { errorMessage, UsageError } from '../errors.js';
import type { AnalysisRef, AnalysisResolver, MetricSpec } from '../ports/strategy.js';
import { hasPlaceholder, renderTemplate, type TemplateScope } from '../util/template.js';

/**
 * Resolves `analysis: { templates, metrics }` against the workflow's named `analyses`. With the
 * stage's scope, each query's placeholders (`{{ inputs.version }}`, `{{ vars.NAME }}`,
 * `{{ stage }}`, `{{ environment }}`) are filled, so one template serves every stage and version;
 * the plan (`rollgate plan --json`) and each measurement's evidence show the query as sent.
 * Validation refuses a placeholder that could have no value; this error is for a run that leaves
 * an optional input out.
 */
export function analysisResolver(workflow: Workflow, scope?: TemplateScope): AnalysisResolver {
  const fill = (metric: MetricSpec): MetricSpec => {
    if (!scope || !hasPlaceholder(metric.query)) return metric;
    try {
      return { ...metric, query: renderTemplate(metric.query, scope) };
    } catch (err) {
      throw new UsageError(`metric '${metric.name}': query: ${errorMessage(err)}`, { cause: err });
    }
  };
  return (ref: AnalysisRef) => {
    const fromTemplates = (ref.templates ?? []).flatMap((name) => {
      const template = workflow.analyses[name];
      if (!template) {
        throw new UsageError(`analysis template '${name}' is not defined; analyses: ${Object.keys(workflow.analyses).join(', ') || 'none'}`);
      }
      return template.metrics;
    });
    return [...fromTemplates, ...((ref.metrics ?? []) as MetricSpec[])].map(fill);
  };
}
