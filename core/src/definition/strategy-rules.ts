import type { MetricSpec } from '../ports/strategy.js';
import { checkConditionSyntax, referencedProbes } from '../util/expression.js';
import { formatDuration } from '../util/duration.js';
import type { Finding, PathSegment, Rule } from './rule-kit.js';
import type { Stage, StrategyConfig, Workflow } from './schema.js';

/*
 * Rules about strategies, analysis and monitoring: what each strategy needs from its target and
 * router, that waits fit in the deadlines around them, that weights only go up, and that every
 * condition parses and names probes, templates and providers that exist.
 */
const error = (path: PathSegment[], message: string): Finding => ({ severity: 'error', path, message });

/** Targets that can run two versions side by side, and those that are fleets (see ports/target.ts). */
const CANDIDATE_TARGETS = new Set(['sim']);
const FLEET_TARGETS = new Set(['sim']);

function strategiesOf(stage: Stage): { config: StrategyConfig; path: PathSegment[] }[] {
  const s = stage.strategy;
  if (s.type !== 'auto') return [{ config: s, path: ['strategy'] }];
  return [...s.rules.map((r, i) => ({ config: r.use, path: ['strategy', 'rules', i, 'use'] })), { config: s.otherwise, path: ['strategy', 'otherwise'] }];
}

const capabilities: Rule = {
  name: 'strategy-capabilities',
  input: 'workflow',
  check(workflow) {
    return workflow.stages.flatMap((stage, i) =>
      strategiesOf(stage).flatMap(({ config, path }) => {
        const at = ['stages', i, ...path, 'type'];
        const target = stage.target.type;
        if ((config.type === 'canary' || config.type === 'blue-green') && !CANDIDATE_TARGETS.has(target)) {
          return [error(at, `${config.type} needs a target that runs two versions side by side (${[...CANDIDATE_TARGETS].join(', ')}); the ${target} target cannot. Use direct, or a target that can.`)];
        }
        if (config.type === 'progressive' && !FLEET_TARGETS.has(target)) {
          return [error(at, `progressive needs a fleet target (${[...FLEET_TARGETS].join(', ')}); the ${target} target is not one`)];
        }
        if (config.type === 'blue-green' && !stage.router) {
          return [error(at, 'blue-green switches traffic with a router: add `router` to the stage (without one, traffic cannot move while both versions run)')];
        }
        return [];
      }),
    );
  },
};

const ascendingWeights: Rule = {
  name: 'canary-weights',
  input: 'workflow',
  check(workflow) {
    return workflow.stages.flatMap((stage, i) =>
      strategiesOf(stage).flatMap(({ config, path }) => {
        if (config.type !== 'canary' || !config.steps) return [];
        let last = 0;
        return config.steps.flatMap((step, j) => {
          if (!('setWeight' in step)) return [];
          const found = step.setWeight < last ? [error(['stages', i, ...path, 'steps', j, 'setWeight'], `weights only go up: ${step.setWeight} comes after ${last} (a rollback is what lowers them)`)] : [];
          last = Math.max(last, step.setWeight);
          return found;
        });
      }),
    );
  },
};

/** Waits inside one step must fit the step deadline, and the stage deadline around them. */
const waitsFitDeadlines: Rule = {
  name: 'waits-fit-deadlines',
  input: 'workflow',
  check(workflow) {
    const step = workflow.defaults.stepTimeout;
    return workflow.stages.flatMap((stage, i) => {
      const stageLimit = stage.timeout ?? workflow.defaults.stageTimeout;
      const waits: { path: PathSegment[]; ms: number }[] = [{ path: ['verify', 'timeout'], ms: stage.verify.timeout }];
      for (const { config, path } of strategiesOf(stage)) {
        if (config.type === 'direct' && config.bake) waits.push({ path: [...path, 'bake'], ms: config.bake });
        if (config.type === 'blue-green') waits.push({ path: [...path, 'scaleDownDelay'], ms: config.scaleDownDelay });
        if (config.type === 'progressive') waits.push({ path: [...path, 'bake'], ms: config.bake });
        if (config.type === 'canary') {
          if (config.stepInterval) waits.push({ path: [...path, 'stepInterval'], ms: config.stepInterval });
          config.steps?.forEach((s, j) => {
            if ('pause' in s && s.pause.duration) waits.push({ path: [...path, 'steps', j, 'pause', 'duration'], ms: s.pause.duration });
          });
        }
      }
      return waits.flatMap(({ path, ms }) => {
        if (ms > step) return [error(['stages', i, ...path], `${formatDuration(ms)} is longer than defaults.stepTimeout (${formatDuration(step)}): the step would always time out; raise defaults.stepTimeout`)];
        if (ms > stageLimit) return [error(['stages', i, ...path], `${formatDuration(ms)} is longer than the stage deadline (${formatDuration(stageLimit)}); raise the stage's timeout`)];
        return [];
      });
    });
  },
};

function checkCondition(workflow: Workflow, text: string, path: PathSegment[], extra: string[] = []): Finding[] {
  const syntax = checkConditionSyntax(text);
  if (syntax) return [error(path, syntax)];
  const missing = referencedProbes(text).filter((p) => !Object.hasOwn(workflow.probes, p) && !extra.includes(p));
  return missing.map((p) => error(path, `condition reads probes.${p}, which is not declared under probes (declared: ${Object.keys(workflow.probes).join(', ') || 'none'})`));
}

function metricsOf(config: StrategyConfig): { metrics: { templates?: string[]; metrics?: MetricSpec[] }; path: PathSegment[] }[] {
  const refs: { metrics: { templates?: string[]; metrics?: MetricSpec[] }; path: PathSegment[] }[] = [];
  if (config.type === 'canary') {
    if (config.analysis) refs.push({ metrics: config.analysis, path: ['analysis'] });
    if (config.stepAnalysis) refs.push({ metrics: config.stepAnalysis, path: ['stepAnalysis'] });
    config.steps?.forEach((s, j) => 'analysis' in s && refs.push({ metrics: s.analysis, path: ['steps', j, 'analysis'] }));
  }
  if (config.type === 'blue-green') {
    if (config.prePromotionAnalysis) refs.push({ metrics: config.prePromotionAnalysis, path: ['prePromotionAnalysis'] });
    if (config.postPromotionAnalysis) refs.push({ metrics: config.postPromotionAnalysis, path: ['postPromotionAnalysis'] });
  }
  return refs;
}

const references: Rule = {
  name: 'analysis-and-guard-references',
  input: 'workflow',
  check(workflow) {
    const found: Finding[] = [];
    const metricChecks = (m: MetricSpec, path: PathSegment[]) => {
      if (!Object.hasOwn(workflow.metricProviders, m.provider)) {
        found.push(error([...path, 'provider'], `metric provider '${m.provider}' is not declared under metricProviders (declared: ${Object.keys(workflow.metricProviders).join(', ')})`));
      }
      for (const key of ['successCondition', 'failureCondition'] as const) {
        const text = m[key];
        const syntax = text === undefined ? undefined : checkConditionSyntax(text);
        if (syntax) found.push(error([...path, key], syntax));
      }
    };
    for (const [name, template] of Object.entries(workflow.analyses)) template.metrics.forEach((m, j) => metricChecks(m, ['analyses', name, 'metrics', j]));
    workflow.stages.forEach((stage, i) => {
      stage.preflight.forEach((c, j) => found.push(...checkCondition(workflow, c.check, ['stages', i, 'preflight', j, 'check'])));
      stage.guards.forEach((c, j) => found.push(...checkCondition(workflow, c.check, ['stages', i, 'guards', j, 'check'])));
      if (stage.strategy.type === 'auto') {
        stage.strategy.rules.forEach((r, j) => found.push(...checkCondition(workflow, r.when, ['stages', i, 'strategy', 'rules', j, 'when'])));
      }
      for (const { config, path } of strategiesOf(stage)) {
        if (config.type === 'blue-green') {
          config.smoke.forEach((p, j) => {
            if (!Object.hasOwn(workflow.probes, p)) found.push(error(['stages', i, ...path, 'smoke', j], `smoke probe '${p}' is not declared under probes`));
          });
        }
        for (const ref of metricsOf(config)) {
          const base = ['stages', i, ...path, ...ref.path];
          (ref.metrics.templates ?? []).forEach((t, j) => {
            if (!Object.hasOwn(workflow.analyses, t)) {
              found.push(error([...base, 'templates', j], `analysis template '${t}' is not declared under analyses (declared: ${Object.keys(workflow.analyses).join(', ') || 'none'})`));
            }
          });
          (ref.metrics.metrics ?? []).forEach((m, j) => metricChecks(m, [...base, 'metrics', j]));
        }
      }
    });
    return found;
  },
};

export const strategyRules: readonly Rule[] = [capabilities, ascendingWeights, waitsFitDeadlines, references];
