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
  const levels = new Map<string, number>();
  const byName = new Map(workflow.stages.map((s) => [s.name, s]));
  const levelOf = (name: string, seen: string[] = []): number => {
    const known = levels.get(name);
    if (known !== undefined) return known;
    const stage = byName.get(name) as Stage;
    const deps = stage.needs.filter((n) => names.has(n) && !seen.includes(n));
    const level = deps.length === 0 ? 0 : Math.max(...deps.map((d) => levelOf(d, [...seen, name]))) + 1;
    levels.set(name, level);
    return level;
  };
  const stages = selected.map((stage): StagePlan => {
    let version: string;
    try {
      version = renderTemplate(stage.version, stageScope(workflow, stage, inputs));
    } catch (err) {
      throw new UsageError(`stage ${stage.name}: version: ${(err as Error).message}`);
    }
    return {
      name: stage.name,
      environment: stage.environment,
      needs: stage.needs.filter((n) => names.has(n)),
      level: levelOf(stage.name),
      version,
      ...(stage.when ? { when: stage.when } : {}),
      ...(stage.approval ? { approval: stage.approval.type } : {}),
      target: stage.target.type,
      strategy: stage.strategy.type,
      steps: createStrategy(stage.strategy).plan(stage.strategy, analysisResolver(workflow)),
    };
  });
  stages.sort((a, b) => a.level - b.level);
  return { workflow: workflow.name, stages };
}

function selectStages(workflow: Workflow, selection: Selection): Stage[] {
  const all = workflow.stages.map((s) => s.name);
  for (const name of selection.stages ?? []) {
    if (!all.includes(name)) throw new UsageError(`unknown stage '${name}'; stages: ${all.join(', ')}`);
  }
  if (selection.environment && !Object.hasOwn(workflow.environments, selection.environment)) {
    throw new UsageError(
      `unknown environment '${selection.environment}'; environments: ${Object.keys(workflow.environments).join(', ')}`,
    );
  }
  const chosen = workflow.stages.filter(
    (s) =>
      (!selection.stages || selection.stages.includes(s.name)) &&
      (!selection.environment || s.environment === selection.environment),
  );
  if (chosen.length === 0) {
    throw new UsageError(
      `no stage matches --stage ${selection.stages?.join(',') ?? '*'} --env ${selection.environment ?? '*'}`,
    );
  }
  return chosen;
}
