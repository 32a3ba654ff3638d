import type { Workflow } from './schema.js';
import { checkConditionSyntax, referencedProbes } from '../util/expression.js';
import { error, type Finding, isRecord, listed, listOr, type Rule, suggest, warning } from './rule-kit.js';
import { commandRules } from './command-rules.js';
import { secretRules } from './secret-rules.js';
import { inputProblem, placeholderRefs, variableProblem } from './placeholder-rules.js';
import { strategyRules } from './strategy-rules.js';
import { valueRules } from './value-rules.js';

export type { Finding, PathSegment, Rule, Severity } from './rule-kit.js';
export { closest, isRecord, suggest } from './rule-kit.js';
export { findSecret } from './secret-rules.js';
export { PLACEHOLDER_FORMS } from '../util/template.js';

/**
 * The third validation layer: named checks of what the schema cannot express (references between
 * stages, environments, probes and inputs; cycles; secrets written into the file). Rules are pure:
 * they return findings with structural paths (`['stages', 0, 'needs', 1]`), and the loader turns
 * those into positioned, formatted `ConfigIssue`s. Each one is linear in the size of the file, so
 * a file with 100,000 stages validates in seconds.
 */

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

/** Unknown needs beyond this many get no "did you mean": each suggestion reads every name. */
const SUGGESTED_NEEDS = 100;

const needsExist: Rule = {
  name: 'needs-exist',
  input: 'workflow',
  check(workflow) {
    const names = workflow.stages.map((s) => s.name);
    const known = new Set(names);
    const findings: Finding[] = [];
    let unknown = 0;
    workflow.stages.forEach((stage, i) => {
      const seen = new Set<string>();
      stage.needs.forEach((need, j) => {
        const path = ['stages', i, 'needs', j];
        const repeated = seen.has(need);
        seen.add(need);
        if (need === stage.name) findings.push(error(path, `stage '${stage.name}' cannot need itself`));
        else if (repeated) findings.push(warning(path, `'${need}' is listed twice in needs`));
        else if (!known.has(need)) {
          const hint = unknown++ < SUGGESTED_NEEDS ? suggest(need, names) : '';
          findings.push(error(path, `unknown stage '${need}' in needs; stages: ${listed(names)}${hint}`));
        }
      });
    });
    return findings;
  },
};

/**
 * Depth-first search with an explicit stack (a chain of 100,000 stages would overflow a recursive
 * one). Each cycle is reported once, at the stage of the cycle that comes first in the file.
 */
const noCycles: Rule = {
  name: 'no-cycles',
  input: 'workflow',
  check(workflow) {
    const byName = new Map(workflow.stages.map((s, i) => [s.name, { stage: s, index: i }]));
    const state = new Map<string, 'visiting' | 'done'>();
    const onPath = new Map<string, number>(); // stage → its position in `path`
    const reported = new Set<string>();
    const findings: Finding[] = [];
    const report = (cycle: string[]) => {
      const key = [...cycle].sort().join('\0');
      if (reported.has(key)) return;
      reported.add(key);
      const start = cycle.reduce((a, b) => ((byName.get(a)?.index ?? 0) <= (byName.get(b)?.index ?? 0) ? a : b));
      const at = cycle.indexOf(start);
      const ordered = [...cycle.slice(at), ...cycle.slice(0, at)];
      const next = ordered[1] ?? start;
      const startEntry = byName.get(start);
      findings.push(
        error(
          ['stages', startEntry?.index ?? 0, 'needs', startEntry?.stage.needs.indexOf(next) ?? 0],
          `needs form a cycle: ${chain([...ordered, start])}; none of these stages can start. Remove one of these needs`,
        ),
      );
    };
    for (const root of workflow.stages) {
      if (state.has(root.name)) continue;
      const path: string[] = [];
      const frames: Array<{ name: string; needs: string[]; next: number }> = [];
      const enter = (name: string) => {
        state.set(name, 'visiting');
        onPath.set(name, path.length);
        path.push(name);
        frames.push({ name, needs: byName.get(name)?.stage.needs ?? [], next: 0 });
      };
      enter(root.name);
      while (frames.length > 0) {
        const frame = frames[frames.length - 1] as (typeof frames)[number];
        const need = frame.needs[frame.next++];
        if (need === undefined) {
          frames.pop();
          path.pop();
          onPath.delete(frame.name);
          state.set(frame.name, 'done');
        } else if (need === frame.name || !byName.has(need)) {
          continue; // reported by needs-exist
        } else if (state.get(need) === 'visiting') {
          report(path.slice(onPath.get(need)));
        } else if (!state.has(need)) {
          enter(need);
        }
      }
    }
    return findings;
  },
};

/** `a → b → c`; a long cycle shows its first and last five stages and how many lie between. */
function chain(names: string[]): string {
  if (names.length <= 12) return names.join(' → ');
  return [...names.slice(0, 5), `… (${names.length - 11} more)`, ...names.slice(-6)].join(' → ');
}

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

function references(condition: string, root: string): string[] {
  return [...new Set([...condition.matchAll(new RegExp(`\\b${root}\\.([A-Za-z_][\\w]*)`, 'g'))].map((m) => m[1] as string))];
}

/** Every rule, in the order their findings are produced (the loader sorts them by position). */
export const rules: readonly Rule[] = [
  uniqueStageNames,
  ...secretRules,
  needsExist,
  noCycles,
  environmentsExist,
  conditions,
  placeholderRefs,
  ...valueRules,
  ...commandRules,
  ...strategyRules,
];

/** Runs the rules that can run: only the `raw` ones when there is no typed workflow. */
export function runRules(workflow: Workflow | undefined, raw: unknown, list: readonly Rule[] = rules): Finding[] {
  return list.flatMap((rule) => {
    if (rule.input === 'raw') return rule.check(raw);
    return workflow ? rule.check(workflow, raw) : [];
  });
}
