import type { StrategyDeclaration } from '../ports/strategy.js';
import type { MetricSpec } from '../ports/strategy.js';
import { routers, strategies, targets } from '../registries.js';
import { moduleOf } from '../registry/module.js';
import { checkConditionSyntax, referencedProbes } from '../util/expression.js';
import { formatDuration } from '../util/duration.js';
import type { Finding, PathSegment, Rule } from './rule-kit.js';
import type { Stage, Workflow } from './schema.js';

/*
 * Rules about strategies, analysis and monitoring. They know no strategy and no target by name:
 * each strategy declares what its config asks (target capabilities, a router, waits, analyses,
 * probes, conditions, the strategies it may choose) and each target module its capabilities; the
 * rules check the one against the other and against the workflow.
 */
const error = (path: PathSegment[], message: string): Finding => ({ severity: 'error', path, message });

interface Declared {
  type: string;
  path: PathSegment[];
  declares: StrategyDeclaration;
}

/** A stage's strategy and every strategy it may run instead (auto's choices), each with what it declares. */
export function declaredOf(stage: Stage): Declared[] {
  const out: Declared[] = [];
  const visit = (config: { type: string }, path: PathSegment[]) => {
    const declares = moduleOf('strategy', strategies, config.type).create().declares(config as never);
    out.push({ type: config.type, path, declares });
    for (const choice of declares.choices) visit(choice.config, [...path, ...choice.path]);
  };
  visit(stage.strategy, ['strategy']);
  return out;
}

/** What a strategy needs from the target and the router of its stage, and its own problems. */
const capabilities: Rule = {
  name: 'strategy-capabilities',
  input: 'workflow',
  check(workflow) {
    return workflow.stages.flatMap((stage, i) =>
      declaredOf(stage).flatMap(({ type, path, declares }) => {
        const at: PathSegment[] = ['stages', i, ...path, 'type'];
        const target = stage.target.type;
        const has = moduleOf('target', targets, target).capabilities as readonly string[];
        const missing = declares.needs.filter((need) => !has.includes(need));
        const able = (need: string) =>
          Object.values(targets)
            .filter((t) => (t.capabilities as readonly string[]).includes(need))
            .map((t) => t.type);
        const found = missing.map((need) =>
          error(
            at,
            `${type} needs a target with the ${need} capability (${NEEDS[need] ?? need}): ${able(need).join(', ') || 'none registered'}; the ${target} target has ${has.join(', ') || 'neither'}. Use direct, or a target that can.`,
          ),
        );
        if (declares.router && !stage.router) found.push(error(at, declares.router));
        const router = stage.router ? (moduleOf('router', routers, stage.router.type) as { weights?: string }) : undefined;
        if (router?.weights === 'switch') {
          const share = declares.weights.find((w) => w.weight > 0 && w.weight < 100);
          if (share) {
            found.push(
              error(
                ['stages', i, ...path, ...share.path],
                `the ${stage.router?.type} router switches all traffic at once, so it cannot send ${share.weight} % to the new version: use weights 0 and 100 (or blue-green), a router that splits by weight, or no router (a canary's share then follows its replicas)`,
              ),
            );
          }
        }
        for (const p of declares.problems) found.push(error(['stages', i, ...path, ...p.path], p.message));
        return found;
      }),
    );
  },
};

/** What each capability means, in an error message. */
const NEEDS: Record<string, string> = {
  candidates: 'running two versions side by side',
  fleet: 'a fleet of units changed in waves',
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
      for (const { path, declares } of declaredOf(stage)) for (const w of declares.waits) waits.push({ path: [...path, ...w.path], ms: w.ms });
      return waits.flatMap(({ path, ms }) => {
        if (ms > step) return [error(['stages', i, ...path], `${formatDuration(ms)} is longer than defaults.stepTimeout (${formatDuration(step)}): the step would always time out; raise defaults.stepTimeout`)];
        if (ms > stageLimit) return [error(['stages', i, ...path], `${formatDuration(ms)} is longer than the stage deadline (${formatDuration(stageLimit)}); raise the stage's timeout`)];
        return [];
      });
    });
  },
};

function checkCondition(workflow: Workflow, text: string, path: PathSegment[]): Finding[] {
  const syntax = checkConditionSyntax(text);
  if (syntax) return [error(path, syntax)];
  const missing = referencedProbes(text).filter((p) => !Object.hasOwn(workflow.probes, p));
  return missing.map((p) => error(path, `condition reads probes.${p}, which is not declared under probes (declared: ${Object.keys(workflow.probes).join(', ') || 'none'})`));
}

/** Every condition, probe, analysis template and metric provider a stage (its strategy, target or router) names must exist and parse. */
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
      if (stage.waitFor) found.push(...checkCondition(workflow, stage.waitFor.check, ['stages', i, 'waitFor', 'check']));
      stage.preflight.forEach((c, j) => found.push(...checkCondition(workflow, c.check, ['stages', i, 'preflight', j, 'check'])));
      stage.guards.forEach((c, j) => found.push(...checkCondition(workflow, c.check, ['stages', i, 'guards', j, 'check'])));
      // Probes a target or router reads itself (a fleet's hostsFrom).
      const providers = [
        { field: 'target', module: moduleOf('target', targets, stage.target.type), config: stage.target },
        ...(stage.router ? [{ field: 'router', module: moduleOf('router', routers, stage.router.type), config: stage.router }] : []),
      ];
      for (const { field, module, config } of providers) {
        for (const p of (module as { probesNamed?: (c: unknown) => Array<{ path: PathSegment[]; name: string }> }).probesNamed?.(config) ?? []) {
          if (!Object.hasOwn(workflow.probes, p.name)) {
            found.push(error(['stages', i, field, ...p.path], `probe '${p.name}' is not declared under probes (declared: ${Object.keys(workflow.probes).join(', ') || 'none'})`));
          }
        }
      }
      for (const { path, declares } of declaredOf(stage)) {
        const at = (p: PathSegment[]) => ['stages', i, ...path, ...p];
        for (const c of declares.conditions) found.push(...checkCondition(workflow, c.text, at(c.path)));
        for (const p of declares.probes) {
          if (!Object.hasOwn(workflow.probes, p.name)) found.push(error(at(p.path), `probe '${p.name}' is not declared under probes`));
        }
        for (const a of declares.analyses) {
          (a.ref.templates ?? []).forEach((t, j) => {
            if (!Object.hasOwn(workflow.analyses, t)) {
              found.push(error(at([...a.path, 'templates', j]), `analysis template '${t}' is not declared under analyses (declared: ${Object.keys(workflow.analyses).join(', ') || 'none'})`));
            }
          });
          ((a.ref.metrics ?? []) as MetricSpec[]).forEach((m, j) => metricChecks(m, at([...a.path, 'metrics', j])));
        }
      }
    });
    return found;
  },
};

export const strategyRules: readonly Rule[] = [capabilities, waitsFitDeadlines, references];
