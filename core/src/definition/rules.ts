import type { CommandSpec } from './common.js';
import type { Stage, Workflow } from './schema.js';
import { checkConditionSyntax, referencedProbes } from '../util/expression.js';
import { placeholders } from '../util/template.js';
import { strategyRules } from './strategy-rules.js';

/**
 * The third validation layer: named checks of what the schema cannot express (references between
 * stages, environments, probes and inputs; cycles; secrets written into the file). Rules are pure:
 * they return findings with structural paths (`['stages', 0, 'needs', 1]`), and the loader turns
 * those into positioned, formatted `ConfigIssue`s.
 */

export type PathSegment = string | number;
export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  /** Where the problem is, as keys and indices into the file's data. */
  path: PathSegment[];
  message: string;
  /** Point at the key itself (an unknown or badly named key) rather than at its value. */
  at?: 'key';
}

/**
 * A named check. `raw` rules read only the parsed file, so they also run when the schema fails
 * (a secret written into a broken file is still reported); `workflow` rules need the typed model.
 */
export type Rule =
  | { name: string; input: 'raw'; check(raw: unknown): Finding[] }
  | { name: string; input: 'workflow'; check(workflow: Workflow, raw: unknown): Finding[] };

const error = (path: PathSegment[], message: string): Finding => ({ severity: 'error', path, message });
const warning = (path: PathSegment[], message: string): Finding => ({ severity: 'warning', path, message });

// ---------------------------------------------------------------------------------------------
// Secrets

const SECRET_PATTERNS: ReadonlyArray<readonly [string, RegExp]> = [
  ['a Slack token', /\bxox[abposre]-[A-Za-z0-9-]{10,}/],
  ['a Slack app token', /\bxapp-\d-[A-Za-z0-9-]{10,}/],
  ['a Slack webhook URL', /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{8,}/],
  ['a Teams webhook URL', /\.webhook\.office\.com\/webhookb2\//],
  ['a GitHub token', /\bgh[pousr]_[A-Za-z0-9]{30,}/],
  ['a GitHub token', /\bgithub_pat_[A-Za-z0-9_]{20,}/],
  ['a GitLab token', /\bglpat-[A-Za-z0-9_-]{20,}/],
  ['an AWS access key id', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ['a private key', /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/],
  // user:password@ in a URL, unless the password is a placeholder or a $VARIABLE
  ['a password in a URL', /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@{}$]+:[^\s/@{}$]+@/i],
];

/** What kind of credential `text` contains (e.g. `a Slack token`), or undefined. */
export function findSecret(text: string): string | undefined {
  return SECRET_PATTERNS.find(([, pattern]) => pattern.test(text))?.[0];
}

const inlinedSecrets: Rule = {
  name: 'inlined-secrets',
  input: 'raw',
  check(raw) {
    const findings: Finding[] = [];
    const walk = (value: unknown, path: PathSegment[]): void => {
      if (typeof value === 'string') {
        const kind = findSecret(value);
        if (kind) {
          findings.push(
            error(path, `looks like an inlined secret (${kind}); put it in an environment variable and reference it by name`),
          );
        }
      } else if (Array.isArray(value)) {
        value.forEach((item, i) => walk(item, [...path, i]));
      } else if (isRecord(value)) {
        for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
      }
    };
    walk(raw, []);
    return findings;
  },
};

// ---------------------------------------------------------------------------------------------
// Stages and the graph they form

const uniqueStageNames: Rule = {
  name: 'unique-stage-names',
  input: 'raw',
  check(raw) {
    const stages = isRecord(raw) && Array.isArray(raw.stages) ? (raw.stages as unknown[]) : [];
    const first = new Map<string, number>();
    const findings: Finding[] = [];
    stages.forEach((stage, i) => {
      const name = isRecord(stage) ? stage.name : undefined;
      if (typeof name !== 'string') return;
      const earlier = first.get(name);
      if (earlier === undefined) first.set(name, i);
      else findings.push(error(['stages', i, 'name'], `duplicate stage name '${name}' (already used by stages[${earlier}]); stage names must be unique`));
    });
    return findings;
  },
};

const needsExist: Rule = {
  name: 'needs-exist',
  input: 'workflow',
  check(workflow) {
    const names = workflow.stages.map((s) => s.name);
    const findings: Finding[] = [];
    workflow.stages.forEach((stage, i) => {
      stage.needs.forEach((need, j) => {
        const path = ['stages', i, 'needs', j];
        if (need === stage.name) findings.push(error(path, `stage '${stage.name}' cannot need itself`));
        else if (stage.needs.indexOf(need) < j) findings.push(warning(path, `'${need}' is listed twice in needs`));
        else if (!names.includes(need)) {
          findings.push(error(path, `unknown stage '${need}' in needs; stages: ${names.join(', ')}${suggest(need, names)}`));
        }
      });
    });
    return findings;
  },
};

const noCycles: Rule = {
  name: 'no-cycles',
  input: 'workflow',
  check(workflow) {
    const byName = new Map(workflow.stages.map((s, i) => [s.name, { stage: s, index: i }]));
    const state = new Map<string, 'visiting' | 'done'>();
    const reported = new Set<string>();
    const findings: Finding[] = [];
    const stack: string[] = [];
    const visit = (name: string): void => {
      state.set(name, 'visiting');
      stack.push(name);
      const entry = byName.get(name);
      for (const need of entry?.stage.needs ?? []) {
        if (need === name || !byName.has(need)) continue; // reported by needs-exist
        if (state.get(need) === 'visiting') {
          const cycle = stack.slice(stack.indexOf(need));
          const key = [...cycle].sort().join('\0');
          if (reported.has(key)) continue;
          reported.add(key);
          // Report at the stage of the cycle that comes first in the file, following its needs.
          const start = cycle.reduce((a, b) => ((byName.get(a)?.index ?? 0) <= (byName.get(b)?.index ?? 0) ? a : b));
          const at = cycle.indexOf(start);
          const ordered = [...cycle.slice(at), ...cycle.slice(0, at)];
          const next = ordered[1] ?? start;
          const startEntry = byName.get(start);
          const needIndex = startEntry?.stage.needs.indexOf(next) ?? 0;
          findings.push(
            error(
              ['stages', startEntry?.index ?? 0, 'needs', needIndex],
              `needs form a cycle: ${[...ordered, start].join(' → ')}; none of these stages can start. Remove one of these needs`,
            ),
          );
        } else if (!state.has(need)) visit(need);
      }
      stack.pop();
      state.set(name, 'done');
    };
    for (const stage of workflow.stages) if (!state.has(stage.name)) visit(stage.name);
    return findings;
  },
};

const environmentsExist: Rule = {
  name: 'environments-exist',
  input: 'workflow',
  check(workflow) {
    const known = Object.keys(workflow.environments);
    return workflow.stages.flatMap((stage, i) =>
      Object.hasOwn(workflow.environments, stage.environment)
        ? []
        : [
            error(
              ['stages', i, 'environment'],
              `unknown environment '${stage.environment}'; ${
                known.length ? `environments: ${known.join(', ')}` : 'no environments are declared: add it under `environments`'
              }${suggest(stage.environment, known)}`,
            ),
          ],
    );
  },
};

// ---------------------------------------------------------------------------------------------
// Conditions and placeholders

const conditions: Rule = {
  name: 'conditions',
  input: 'workflow',
  check(workflow) {
    const findings: Finding[] = [];
    const probes = Object.keys(workflow.probes);
    workflow.stages.forEach((stage, i) => {
      if (stage.when === undefined) return;
      const path = ['stages', i, 'when'];
      const syntax = checkConditionSyntax(stage.when);
      if (syntax) findings.push(error(path, `${syntax}; conditions are CEL, e.g. probes.db.ok && inputs.version != ""`));
      for (const probe of referencedProbes(stage.when)) {
        if (!Object.hasOwn(workflow.probes, probe)) {
          findings.push(
            error(path, `condition uses probes.${probe}, but no probe '${probe}' is declared; ${listOr('probes', probes)}${suggest(probe, probes)}`),
          );
        }
      }
      for (const name of references(stage.when, 'inputs')) {
        const problem = inputProblem(workflow, name);
        if (problem) findings.push(error(path, `condition uses inputs.${name}, but ${problem}`));
      }
      for (const name of references(stage.when, 'vars')) {
        const problem = variableProblem(workflow, stage, name);
        if (problem) findings.push(error(path, `condition uses vars.${name}, but ${problem}`));
      }
    });
    return findings;
  },
};

/** Roots a `{{ ... }}` placeholder may use in stage values (see engine/plan.ts `stageScope`). */
export const PLACEHOLDER_FORMS = ['inputs.NAME', 'vars.NAME', 'stage', 'environment'] as const;

const placeholderRefs: Rule = {
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
          const input = workflow.inputs[name.slice('inputs.'.length)];
          if (input && input.default === undefined && !input.required) {
            findings.push(
              warning(path, `'{{ ${name} }}' has no value unless the run gives one; give the input a default or set required: true`),
            );
          }
        }
      }
    });
    for (const [probeName, probe] of Object.entries(workflow.probes)) {
      if (probe.type !== 'http') continue;
      const fields: Array<[PathSegment[], string]> = [[['probes', probeName, 'url'], probe.url]];
      for (const [header, value] of Object.entries(probe.headers ?? {})) fields.push([['probes', probeName, 'headers', header], value]);
      const environments = environmentsUsingProbe(workflow, probeName);
      for (const [path, text] of fields) {
        for (const name of placeholders(text)) {
          const problem = placeholderProblem(workflow, name, (v) => {
            const sets = (env: string) => Object.hasOwn(workflow.environments[env]?.variables ?? {}, v);
            if (!Object.keys(workflow.environments).some(sets)) return `no environment sets variable '${v}'`;
            const missing = environments.filter((env) => !sets(env));
            if (missing.length > 0) {
              findings.push(warning(path, `'{{ ${name} }}' is not set in ${plural('environment', missing)}, so probe '${probeName}' fails there`));
            }
            return undefined;
          });
          if (problem) findings.push(error(path, `'{{ ${name} }}': ${problem}`));
        }
      }
    }
    return findings;
  },
};

function placeholderProblem(workflow: Workflow, name: string, variable: (name: string) => string | undefined): string | undefined {
  const [root, key, ...rest] = name.split('.');
  if (root === 'inputs' && key && rest.length === 0) return inputProblem(workflow, key);
  if (root === 'vars' && key && rest.length === 0) return variable(key);
  if ((root === 'stage' || root === 'environment') && key === undefined) return undefined;
  return `not a known placeholder; use ${PLACEHOLDER_FORMS.map((f) => `{{ ${f} }}`).join(', ')}`;
}

function inputProblem(workflow: Workflow, name: string): string | undefined {
  if (Object.hasOwn(workflow.inputs, name)) return undefined;
  const declared = Object.keys(workflow.inputs);
  return `input '${name}' is not declared; declare it under inputs (${listOr('declared inputs', declared)})${suggest(name, declared)}`;
}

function variableProblem(workflow: Workflow, stage: Stage, name: string): string | undefined {
  const environment = workflow.environments[stage.environment];
  if (!environment) return undefined; // reported by environments-exist
  if (Object.hasOwn(environment.variables, name)) return undefined;
  const known = Object.keys(environment.variables);
  return `environment '${stage.environment}' has no variable '${name}'; ${listOr('its variables', known)}${suggest(name, known)}`;
}

/** Environments whose stages use the probe in `when`; every environment when no stage does. */
function environmentsUsingProbe(workflow: Workflow, probe: string): string[] {
  const using = workflow.stages.filter((s) => s.when !== undefined && referencedProbes(s.when).includes(probe));
  const environments = using.length ? using.map((s) => s.environment) : Object.keys(workflow.environments);
  return [...new Set(environments)].filter((env) => Object.hasOwn(workflow.environments, env));
}

function references(condition: string, root: string): string[] {
  return [...new Set([...condition.matchAll(new RegExp(`\\b${root}\\.([A-Za-z_][\\w]*)`, 'g'))].map((m) => m[1] as string))];
}

// ---------------------------------------------------------------------------------------------
// Inputs, commands and targets

const inputDefaults: Rule = {
  name: 'input-defaults',
  input: 'workflow',
  check(workflow) {
    return Object.entries(workflow.inputs).flatMap(([name, input]) =>
      input.allowed && input.default !== undefined && !input.allowed.includes(input.default)
        ? [error(['inputs', name, 'default'], `default '${input.default}' is not one of the allowed values: ${input.allowed.join(', ')}`)]
        : [],
    );
  },
};

interface LocatedCommand {
  path: PathSegment[];
  spec: CommandSpec;
}

function commands(workflow: Workflow): LocatedCommand[] {
  const found: LocatedCommand[] = [];
  workflow.stages.forEach((stage, i) => {
    if (stage.target.type !== 'command') return;
    const target = stage.target;
    for (const key of ['current', 'deploy', 'health', 'revert'] as const) {
      const spec = target[key];
      if (spec) found.push({ path: ['stages', i, 'target', key], spec });
    }
  });
  for (const [name, probe] of Object.entries(workflow.probes)) {
    if (probe.type === 'command') found.push({ path: ['probes', name, 'run'], spec: probe.run });
  }
  return found;
}

const shellCommands: Rule = {
  name: 'shell-commands',
  input: 'workflow',
  check(workflow) {
    const findings: Finding[] = [];
    for (const { path, spec } of commands(workflow)) {
      const argv = Array.isArray(spec) ? spec : Array.isArray(spec.run) ? spec.run : undefined;
      if (argv) {
        // Placeholders are never filled in commands: `[sh, -c, "… {{ inputs.x }}"]` would splice a
        // value into script text. Values reach commands as environment variables only.
        argv.forEach((arg, j) => {
          const names = placeholders(arg);
          if (names.length === 0) return;
          findings.push(
            error(
              Array.isArray(spec) ? [...path, j] : [...path, 'run', j],
              `placeholders are not expanded in commands; read ${names.map((n) => `${environmentVariableFor(n)} for {{ ${n} }}`).join(', ')} from the environment (e.g. [sh, -c, 'deploy "$ROLLGATE_VERSION"'])`,
            ),
          );
        });
        continue;
      }
      if (Array.isArray(spec) || typeof spec.run !== 'string') continue;
      const runPath = [...path, 'run'];
      if (spec.shell === false) {
        findings.push(
          error(runPath, 'script text needs `shell: true` (or sh, bash) to run; or give an argv list such as [kubectl, apply, -f, web.yaml], which runs without a shell'),
        );
        continue;
      }
      const names = placeholders(spec.run);
      if (names.length) {
        findings.push(
          error(
            runPath,
            `placeholders are not expanded in shell scripts; use ${names.map((n) => `${environmentVariableFor(n)} for {{ ${n} }}`).join(', ')}`,
          ),
        );
      }
    }
    return findings;
  },
};

/** The ROLLGATE_* variable a command reads instead of a placeholder (engine/run-session.ts). */
function environmentVariableFor(placeholder: string): string {
  const [root, key] = placeholder.split('.');
  const upper = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  if (root === 'inputs' && key) return `$ROLLGATE_INPUT_${upper(key)}`;
  if (root === 'vars' && key) return `$ROLLGATE_VAR_${upper(key)}`;
  if (root === 'stage' && !key) return '$ROLLGATE_STAGE';
  if (root === 'environment' && !key) return '$ROLLGATE_ENVIRONMENT';
  return '$ROLLGATE_INPUT_<NAME> / $ROLLGATE_VAR_<NAME>';
}

const revertableTargets: Rule = {
  name: 'revertable-targets',
  input: 'workflow',
  check(workflow) {
    return workflow.stages.flatMap((stage, i) =>
      stage.target.type === 'command' && !stage.target.revert
        ? [
            warning(
              ['stages', i, 'target'],
              `failures in stage ${stage.name} cannot be rolled back automatically: the command target has no revert command (it would get $ROLLGATE_PREVIOUS_VERSION)`,
            ),
          ]
        : [],
    );
  },
};

/** Every rule, in the order their findings are produced (the loader sorts them by position). */
export const rules: readonly Rule[] = [
  uniqueStageNames,
  inlinedSecrets,
  needsExist,
  noCycles,
  environmentsExist,
  conditions,
  placeholderRefs,
  inputDefaults,
  shellCommands,
  revertableTargets,
  ...strategyRules,
];

/** Runs the rules that can run: only the `raw` ones when there is no typed workflow. */
export function runRules(workflow: Workflow | undefined, raw: unknown, list: readonly Rule[] = rules): Finding[] {
  return list.flatMap((rule) => {
    if (rule.input === 'raw') return rule.check(raw);
    return workflow ? rule.check(workflow, raw) : [];
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers shared with the loader

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasKey(raw: unknown, path: PathSegment[]): boolean {
  let node = raw;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else if (isRecord(node) && Object.hasOwn(node, segment)) node = node[segment];
    else return false;
  }
  return true;
}

/** `; did you mean 'x'?` when one candidate is a likely typo of `word`, else ''. */
export function suggest(word: string, candidates: readonly string[]): string {
  const close = closest(word, candidates);
  return close ? `; did you mean '${close}'?` : '';
}

/** The candidate within a small edit distance of `word` (ignoring case), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number) => d[i]?.[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

function listOr(label: string, names: readonly string[]): string {
  return names.length ? `${label}: ${names.join(', ')}` : `${label}: none`;
}

function plural(noun: string, names: readonly string[]): string {
  return `${noun}${names.length === 1 ? '' : 's'} ${names.join(', ')}`;
}
