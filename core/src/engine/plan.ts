import { quoted, SAFE_VALUE_RULE, safeValueProblem } from '../definition/input-values.js';
import type { Stage, Workflow } from '../definition/schema.js';
import { UsageError } from '../errors.js';
import type { StrategyStep } from '../ports/strategy.js';
import { renderTemplate, type TemplateScope } from '../util/template.js';
import { analysisResolver } from './analysis-resolver.js';
import { createStrategy } from './wiring.js';

export interface Selection {
  /** Run only these stages (their `needs` outside the selection count as met). */
  stages?: string[];
  /** Run only the stages of this environment. */
  environment?: string;
}

export interface StagePlan {
  name: string;
  environment: string;
  needs: string[];
  /** 0 for stages with no selected needs; stages of one level may run in parallel. */
  level: number;
  version: string;
  when?: string;
  approval?: string;
  /** What the stage's approval gate asks approvers (`approval.message`). */
  approvalMessage?: string;
  target: string;
  strategy: string;
  steps: StrategyStep[];
}

export interface ExecutionPlan {
  workflow: string;
  stages: StagePlan[];
}

/** The values placeholders may use in one stage. */
export function stageScope(workflow: Workflow, stage: Stage, inputs: Record<string, string>): TemplateScope {
  const environment = workflow.environments[stage.environment];
  return { inputs, vars: environment?.variables ?? {}, stage: stage.name, environment: stage.environment };
}

/**
 * Pure: which stages run, in which order, with which steps. No probe runs and nothing changes;
 * `rollgate plan` adds the probe snapshot on top of this.
 */
export function planRun(workflow: Workflow, inputs: Record<string, string>, selection: Selection = {}): ExecutionPlan {
  const selected = selectStages(workflow, selection);
  const names = new Set(selected.map((s) => s.name));
  const levels = levelsOf(selected, names);
  const stages = selected.map((stage): StagePlan => ({
    name: stage.name,
    environment: stage.environment,
    needs: stage.needs.filter((n) => names.has(n)),
    level: levels.get(stage.name) ?? 0,
    version: renderVersion(workflow, stage, inputs),
    ...(stage.when ? { when: stage.when } : {}),
    ...(stage.approval ? { approval: stage.approval.type } : {}),
    ...(stage.approval && 'message' in stage.approval && stage.approval.message ? { approvalMessage: stage.approval.message } : {}),
    target: stage.target.type,
    strategy: stage.strategy.type,
    steps: createStrategy(stage.strategy).plan(stage.strategy, analysisResolver(workflow, stageScope(workflow, stage, inputs))),
  }));
  stages.sort((a, b) => a.level - b.level);
  return { workflow: workflow.name, stages };
}

/**
 * The stage's version with its placeholders filled. The result is checked like an input, as it
 * is what lands in deployed files, commands and logs: no control characters, and the characters
 * of versions, tags and image references only.
 */
function renderVersion(workflow: Workflow, stage: Stage, inputs: Record<string, string>): string {
  let version: string;
  try {
    version = renderTemplate(stage.version, stageScope(workflow, stage, inputs));
  } catch (err) {
    throw new UsageError(`stage ${stage.name}: version: ${(err as Error).message}`);
  }
  const problem = safeValueProblem(version, { allowEmpty: false });
  if (problem) {
    const from = version === stage.version ? '' : ` (from ${quoted(stage.version)}; check the inputs and variables it uses)`;
    throw new UsageError(`stage ${stage.name}: version: ${quoted(version)} ${problem}${from}; a version may hold ${SAFE_VALUE_RULE}`);
  }
  return version;
}

/**
 * 0 for stages with no selected needs, else one more than their deepest need. Kahn's order over
 * the selected stages: linear in stages and needs, and no recursion however long a chain is.
 * Validation has ruled out cycles; a stage left on one would keep level 0.
 */
function levelsOf(selected: Stage[], names: Set<string>): Map<string, number> {
  const levels = new Map<string, number>();
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  const ready: string[] = [];
  for (const stage of selected) {
    const needs = new Set(stage.needs.filter((n) => names.has(n) && n !== stage.name));
    waiting.set(stage.name, needs.size);
    for (const need of needs) {
      const list = dependents.get(need);
      if (list) list.push(stage.name);
      else dependents.set(need, [stage.name]);
    }
    if (needs.size === 0) ready.push(stage.name);
  }
  for (let i = 0; i < ready.length; i++) {
    const name = ready[i] as string;
    const level = levels.get(name) ?? 0;
    levels.set(name, level);
    for (const next of dependents.get(name) ?? []) {
      levels.set(next, Math.max(levels.get(next) ?? 0, level + 1));
      const left = (waiting.get(next) ?? 0) - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return levels;
}

function selectStages(workflow: Workflow, selection: Selection): Stage[] {
  const all = new Set(workflow.stages.map((s) => s.name));
  const wanted = selection.stages ? new Set(selection.stages) : undefined;
  for (const name of selection.stages ?? []) {
    if (!all.has(name)) throw new UsageError(`unknown stage ${quoted(name)}; stages: ${[...all].join(', ')}`);
  }
  if (selection.environment && !Object.hasOwn(workflow.environments, selection.environment)) {
    throw new UsageError(
      `unknown environment ${quoted(selection.environment)}; environments: ${Object.keys(workflow.environments).join(', ')}`,
    );
  }
  const chosen = workflow.stages.filter(
    (s) => (!wanted || wanted.has(s.name)) && (!selection.environment || s.environment === selection.environment),
  );
  if (chosen.length === 0) {
    throw new UsageError(`no stage matches --stage ${selection.stages?.join(',') ?? '*'} --env ${selection.environment ?? '*'}`);
  }
  return chosen;
}
