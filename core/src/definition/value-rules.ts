import { envName } from '../util/env-name.js';
import { renderTemplate } from '../util/template.js';
import { controlProblem, escapeControl, inputValueProblem, patternProblem, quoted, SAFE_VALUE_RULE, safeValueProblem } from './input-values.js';
import { error, type Finding, hasKey, type Rule } from './rule-kit.js';

/*
 * Rules about the values a run carries: what inputs accept (their pattern, default and allowed
 * values), what a version may be made of, and the environment variable names inputs and
 * variables become in commands and probes.
 */

const inputDefaults: Rule = {
  name: 'input-defaults',
  input: 'workflow',
  check(workflow) {
    const findings: Finding[] = [];
    for (const [name, input] of Object.entries(workflow.inputs)) {
      const base = ['inputs', name];
      const badPattern = input.pattern === undefined ? undefined : patternProblem(input.pattern);
      if (badPattern) findings.push(error([...base, 'pattern'], `pattern ${quoted(input.pattern ?? '')} ${badPattern}`));
      input.allowed?.forEach((value, i) => {
        const control = controlProblem(value);
        if (control) findings.push(error([...base, 'allowed', i], `allowed value ${quoted(value)} ${control}, which is never accepted in an input`));
      });
      if (input.default === undefined || badPattern) continue;
      if (input.allowed && !input.allowed.includes(input.default)) {
        findings.push(error([...base, 'default'], `default '${escapeControl(input.default)}' is not one of the allowed values: ${input.allowed.map((v) => escapeControl(v)).join(', ')}`));
        continue;
      }
      const problem = inputValueProblem(name, input.default, input);
      if (problem) findings.push(error([...base, 'default'], `the default does not fit: ${problem}`));
    }
    return findings;
  },
};

/**
 * The text a version is written with, placeholders aside, must be possible in a version: a
 * literal `web {{ inputs.version }}` could never be deployed. The filled-in version is checked
 * again when the run is planned (engine/plan.ts).
 */
const versionText: Rule = {
  name: 'version-text',
  input: 'workflow',
  check(workflow, raw) {
    return workflow.stages.flatMap((stage, i) => {
      const path = ['stages', i, 'version'];
      if (!hasKey(raw, path)) return [];
      let sample: string;
      try {
        sample = renderTemplate(stage.version, () => 'x');
      } catch {
        return []; // an unknown placeholder, reported by the placeholders rule
      }
      const problem = safeValueProblem(sample, { allowEmpty: false });
      return problem ? [error(path, `version ${quoted(stage.version)} ${problem}; a version may hold ${SAFE_VALUE_RULE}`)] : [];
    });
  },
};

/**
 * Inputs become ROLLGATE_INPUT_<NAME> and environment variables ROLLGATE_VAR_<NAME> (upper case,
 * other characters as `_`). Two names that become one variable would silently lose one value, so
 * the second is an error, at its name.
 */
const environmentNames: Rule = {
  name: 'environment-names',
  input: 'workflow',
  check(workflow) {
    const findings = collisions(Object.keys(workflow.inputs), 'ROLLGATE_INPUT_', (name, first, variable) =>
      error(['inputs', name], `inputs '${first}' and '${name}' both become ${variable} in commands and probes; rename one of them`, 'key'),
    );
    for (const [environment, config] of Object.entries(workflow.environments)) {
      findings.push(
        ...collisions(Object.keys(config.variables), 'ROLLGATE_VAR_', (name, first, variable) =>
          error(
            ['environments', environment, 'variables', name],
            `variables '${first}' and '${name}' of environment '${environment}' both become ${variable} in commands and probes; rename one of them`,
            'key',
          ),
        ),
      );
    }
    return findings;
  },
};

function collisions(names: string[], prefix: string, report: (name: string, first: string, variable: string) => Finding): Finding[] {
  const seen = new Map<string, string>();
  const findings: Finding[] = [];
  for (const name of names) {
    const variable = `${prefix}${envName(name)}`;
    const first = seen.get(variable);
    if (first === undefined) seen.set(variable, name);
    else findings.push(report(name, first, variable));
  }
  return findings;
}

/** The rules of this file, in the order their findings are produced. */
export const valueRules: readonly Rule[] = [inputDefaults, versionText, environmentNames];
