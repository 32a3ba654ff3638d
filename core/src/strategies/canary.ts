import { z } from 'zod';
import { analysisRefSchema } from '../config/analysis.js';
import { duration } from '../config/fields.js';
import type { AnalysisResolver, ConfigPath, Strategy, StrategyDeclaration, StrategyRuntime, StrategyStep } from '../ports/strategy.js';
import { candidateShortcut, declaration } from './declaration.js';
import { amountSchema } from './amount.js';

/**
 * `canary`: start the new version beside the stable one, move traffic to it step by step under
 * analysis, promote it at the end. Rollback sends all traffic back to stable at once, then removes
 * the canary after `abortScaleDownDelay`.
 */
export const type = 'canary';

const weight = z.number().min(0).max(100);

const stepSchema = z.union([
  z.strictObject({ setWeight: weight.describe('Percent of traffic to the canary') }),
  z.strictObject({
    pause: z
      .strictObject({ duration: duration('How long to wait; without it, wait for an approval').optional() })
      .describe('Wait (monitors keep watching), or without a duration, until approved'),
  }),
  z.strictObject({ analysis: analysisRefSchema }),
  z.strictObject({ approval: z.strictObject({ message: z.string().optional() }).describe('Pause the run until a person approves') }),
  z.strictObject({
    setCanaryScale: z
      .strictObject({ replicas: amountSchema.describe('Canary replicas: a count or a percentage of the stable scale') })
      .describe('Resize the canary without moving traffic'),
  }),
]);

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    steps: z.array(stepSchema).optional().describe('setWeight, pause, analysis, approval and setCanaryScale steps, run in order'),
    stepWeight: weight.positive().optional().describe('Shorthand: raise the weight by this much per step…'),
    maxWeight: weight.positive().default(100).describe('…up to this weight (with stepWeight)'),
    stepInterval: duration('Shorthand: wait this long after each weight change').optional(),
    stepAnalysis: analysisRefSchema.optional().describe('Shorthand: run this analysis after each weight change'),
    analysis: analysisRefSchema.optional().describe('Background analysis: measured beside every step until promotion'),
    canaryReplicas: amountSchema.default({ count: 1 }).describe('Replicas the canary starts with (a router splits traffic by weight)'),
    abortScaleDownDelay: duration('On rollback, traffic leaves the canary at once; the canary is removed this much later').prefault('30s'),
  })
  .refine((c) => (c.steps === undefined) !== (c.stepWeight === undefined), {
    message: 'give either steps, or stepWeight (with maxWeight) as a shorthand',
  })
  .describe('Shift traffic to the new version step by step under analysis');
export type CanaryConfig = z.output<typeof configSchema>;

export function create(): Strategy<CanaryConfig> {
  return { type, plan, runtime, declares, shortcut: candidateShortcut };
}

function plan(config: CanaryConfig, resolve: AnalysisResolver): StrategyStep[] {
  const steps: StrategyStep[] = [{ id: 'deploy-canary', action: 'deploy-candidate', replicas: config.canaryReplicas }];
  steps.push({ id: 'verify-canary', action: 'verify-candidate' });
  // Ids number the user's steps from 1, so `weight-20@3` is the third step of the list.
  const add = (step: StepBody, name: string) => steps.push({ ...step, id: `${name}@${steps.length - 1}` } as StrategyStep);
  for (const step of config.steps ?? expandShorthand(config)) {
    if ('setWeight' in step) add({ action: 'set-weight', weight: step.setWeight }, `weight-${step.setWeight}`);
    else if ('pause' in step) {
      if (step.pause.duration === undefined) add({ action: 'approval' }, 'pause');
      else add({ action: 'pause', durationMs: step.pause.duration }, 'pause');
    } else if ('analysis' in step) add({ action: 'analysis', metrics: resolve(step.analysis) }, 'analysis');
    else if ('approval' in step) add({ action: 'approval', ...(step.approval.message ? { message: step.approval.message } : {}) }, 'approval');
    else add({ action: 'set-candidate-scale', replicas: step.setCanaryScale.replicas }, 'scale');
  }
  steps.push({ id: 'promote', action: 'promote' });
  return steps;
}

type Step = NonNullable<CanaryConfig['steps']>[number];
type StepBody = StrategyStep extends infer S ? (S extends StrategyStep ? Omit<S, 'id'> : never) : never;

/** `stepWeight: 20, maxWeight: 60` → weights 20, 40, 60, each followed by the interval and analysis. */
function expandShorthand(config: CanaryConfig): Step[] {
  const steps: Step[] = [];
  const stepWeight = config.stepWeight as number;
  for (let w = stepWeight; ; w += stepWeight) {
    const capped = Math.min(w, config.maxWeight);
    steps.push({ setWeight: capped });
    if (config.stepInterval !== undefined) steps.push({ pause: { duration: config.stepInterval } });
    if (config.stepAnalysis) steps.push({ analysis: config.stepAnalysis });
    if (capped >= config.maxWeight) return steps;
  }
}

function runtime(config: CanaryConfig, resolve: AnalysisResolver): StrategyRuntime {
  return {
    abortScaleDownDelayMs: config.abortScaleDownDelay,
    ...(config.analysis ? { backgroundAnalysis: resolve(config.analysis) } : {}),
  };
}

function declares(config: CanaryConfig): StrategyDeclaration {
  const waits: { path: ConfigPath; ms: number }[] = config.stepInterval ? [{ path: ['stepInterval'], ms: config.stepInterval }] : [];
  const analyses: StrategyDeclaration['analyses'] = [
    ...(config.analysis ? [{ path: ['analysis'], ref: config.analysis }] : []),
    ...(config.stepAnalysis ? [{ path: ['stepAnalysis'], ref: config.stepAnalysis }] : []),
  ];
  const problems: StrategyDeclaration['problems'] = [];
  const weights: StrategyDeclaration['weights'] = config.stepWeight === undefined ? [] : expandShorthand(config).flatMap((s) => ('setWeight' in s ? [{ path: ['stepWeight'], weight: s.setWeight }] : []));
  let last = 0;
  config.steps?.forEach((step, j) => {
    if ('pause' in step && step.pause.duration) waits.push({ path: ['steps', j, 'pause', 'duration'], ms: step.pause.duration });
    if ('analysis' in step) analyses.push({ path: ['steps', j, 'analysis'], ref: step.analysis });
    if ('setWeight' in step) {
      weights.push({ path: ['steps', j, 'setWeight'], weight: step.setWeight });
      if (step.setWeight < last) problems.push({ path: ['steps', j, 'setWeight'], message: `weights only go up: ${step.setWeight} comes after ${last} (a rollback is what lowers them)` });
      last = Math.max(last, step.setWeight);
    }
  });
  return declaration({ needs: ['candidates'], waits, analyses, problems, weights });
}
