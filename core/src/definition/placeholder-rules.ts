import type { MetricSpec } from '../ports/strategy.js';
import { referencedProbes } from '../util/expression.js';
import { PLACEHOLDER_FORMS, placeholders } from '../util/template.js';
import { error, type Finding, hasKey, listOr, plural, type PathSegment, type Rule, suggest, warning } from './rule-kit.js';
import type { Stage, Workflow } from './schema.js';
import { declaredOf } from './strategy-rules.js';

/*
 * Placeholders (`{{ inputs.NAME }}`, `{{ vars.NAME }}`, `{{ stage }}`, `{{ environment }}`) where
 * rollgate fills them: a stage's version, an http probe's URL and headers, and a metric's query.
 * Each must have a value wherever it is filled, or validation says which and where.
 */

/** Every `{{ … }}` in a stage's version, an http probe and a metric query must be one rollgate can fill there. */
export const placeholderRefs: Rule = {
  name: 'placeholders',
  input: 'workflow',
  check(workflow, raw) {
    const findings: Finding[] = [];
    workflow.stages.forEach((stage, i) => {
      const path = ['stages', i, 'version'];
      const implicit = !hasKey(raw, path);
      for (const name of placeholders(stage.version)) {
        const problem = placeholderProblem(workflow, name, (v) => variableProblem(workflow, stage, v));
        if (problem) {
          const subject = implicit ? `the default version '${stage.version}'` : `'{{ ${name} }}'`;
          const fix = implicit ? `; or set this stage's version` : '';
          findings.push(error(path, `${subject}: ${problem}${fix}`));
        } else if (name.startsWith('inputs.')) {
          findings.push(...optionalInput(workflow, name, path));
        }
      }
    });
    const usedIn = environmentsUsingProbes(workflow);
    for (const [probeName, probe] of Object.entries(workflow.probes)) {
      if (probe.type !== 'http') continue;
      const fields: Array<[PathSegment[], string]> = [[['probes', probeName, 'url'], probe.url]];
      for (const [header, value] of Object.entries(probe.headers ?? {})) fields.push([['probes', probeName, 'headers', header], value]);
      const environments = usedIn.get(probeName) ?? Object.keys(workflow.environments);
      for (const [path, text] of fields) {
        const found = textFindings(workflow, text, path, (v) => {
          const sets = (env: string) => Object.hasOwn(workflow.environments[env]?.variables ?? {}, v);
          if (!Object.keys(workflow.environments).some(sets)) return `no environment sets variable '${v}'`;
          const missing = environments.filter((env) => !sets(env));
          if (missing.length > 0) {
            findings.push(warning(path, `'{{ vars.${v} }}' is not set in ${plural('environment', missing)}, so probe '${probeName}' fails there`));
          }
          return undefined;
        });
        findings.push(...found);
      }
    }
    findings.push(...queryPlaceholders(workflow));
    return findings;
  },
};

/** One text's placeholders: an error for each that could have no value, a warning for an input that may be left out. */
function textFindings(workflow: Workflow, text: string, path: PathSegment[], variable: (name: string) => string | undefined): Finding[] {
  return placeholders(text).flatMap((name) => {
    const problem = placeholderProblem(workflow, name, variable);
    if (problem) return [error(path, `'{{ ${name} }}': ${problem}`)];
    return name.startsWith('inputs.') ? optionalInput(workflow, name, path) : [];
  });
}

function placeholderProblem(workflow: Workflow, name: string, variable: (name: string) => string | undefined): string | undefined {
  const [root, key, ...rest] = name.split('.');
  if (root === 'inputs' && key && rest.length === 0) return inputProblem(workflow, key);
  if (root === 'vars' && key && rest.length === 0) return variable(key);
  if ((root === 'stage' || root === 'environment') && key === undefined) return undefined;
  return `not a known placeholder; use ${PLACEHOLDER_FORMS.map((f) => `{{ ${f} }}`).join(', ')}`;
}

export function inputProblem(workflow: Workflow, name: string): string | undefined {
  if (Object.hasOwn(workflow.inputs, name)) return undefined;
  const declared = Object.keys(workflow.inputs);
  return `input '${name}' is not declared; declare it under inputs (${listOr('declared inputs', declared)})${suggest(name, declared)}`;
}

export function variableProblem(workflow: Workflow, stage: Stage, name: string): string | undefined {
  const environment = workflow.environments[stage.environment];
  if (!environment) return undefined; // reported by environments-exist
  if (Object.hasOwn(environment.variables, name)) return undefined;
  const known = Object.keys(environment.variables);
  return `environment '${stage.environment}' has no variable '${name}'; ${listOr('its variables', known)}${suggest(name, known)}`;
}

/** A warning when `{{ inputs.NAME }}` may be left without a value. */
function optionalInput(workflow: Workflow, name: string, path: PathSegment[]): Finding[] {
  const input = workflow.inputs[name.slice('inputs.'.length)];
  if (!input || input.default !== undefined || input.required) return [];
  return [warning(path, `'{{ ${name} }}' has no value unless the run gives one; give the input a default or set required: true`)];
}

/**
 * For each probe used in a `when`, the declared environments of the stages that use it. Probes
 * no stage names in a `when` are absent (they may run anywhere). One pass over the stages.
 */
function environmentsUsingProbes(workflow: Workflow): Map<string, string[]> {
  const using = new Map<string, Set<string>>();
  for (const stage of workflow.stages) {
    if (stage.when === undefined || !Object.hasOwn(workflow.environments, stage.environment)) continue;
    for (const probe of referencedProbes(stage.when)) {
      const set = using.get(probe) ?? new Set<string>();
      set.add(stage.environment);
      using.set(probe, set);
    }
  }
  return new Map([...using].map(([probe, environments]) => [probe, [...environments]]));
}

/**
 * Metric queries: an inline metric's query is filled in its own stage, a template's in every stage
 * whose strategy names the template (a variable must be set in each of their environments).
 */
function queryPlaceholders(workflow: Workflow): Finding[] {
  const findings: Finding[] = [];
  const usedBy = new Map<string, Stage[]>();
  const check = (metric: MetricSpec, path: PathSegment[], stages: readonly Stage[]) =>
    findings.push(
      ...textFindings(workflow, metric.query, path, (v) => {
        if (stages.length === 1) return variableProblem(workflow, stages[0] as Stage, v);
        const sets = (env: string) => Object.hasOwn(workflow.environments[env]?.variables ?? {}, v);
        if (stages.length === 0) return Object.keys(workflow.environments).some(sets) ? undefined : `no environment sets variable '${v}'`;
        const missing = stages.filter((s) => Object.hasOwn(workflow.environments, s.environment) && !sets(s.environment));
        if (missing.length === 0) return undefined;
        return `variable '${v}' is not set in the environment of ${plural('stage', missing.map((s) => s.name))}, which use this template`;
      }),
    );
  workflow.stages.forEach((stage, i) => {
    for (const { path, declares } of declaredOf(stage)) {
      for (const a of declares.analyses) {
        for (const t of a.ref.templates ?? []) usedBy.set(t, [...(usedBy.get(t) ?? []), stage]);
        ((a.ref.metrics ?? []) as MetricSpec[]).forEach((m, j) => check(m, ['stages', i, ...path, ...a.path, 'metrics', j, 'query'], [stage]));
      }
    }
  });
  for (const [name, template] of Object.entries(workflow.analyses)) {
    const stages = [...new Set(usedBy.get(name) ?? [])];
    template.metrics.forEach((m, j) => check(m, ['analyses', name, 'metrics', j, 'query'], stages));
  }
  return findings;
}
