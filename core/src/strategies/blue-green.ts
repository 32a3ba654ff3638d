import { z } from 'zod';
import { analysisRefSchema } from '../config/analysis.js';
import { duration, identifier } from '../config/fields.js';
import type { AnalysisResolver, Strategy, StrategyDeclaration, StrategyRuntime, StrategyStep } from '../ports/strategy.js';
import { candidateShortcut, declaration } from './declaration.js';

/**
 * `blue-green`: start the new version (green) beside the old (blue) at full scale, check it while
 * it takes no traffic, switch all traffic at once, check again, and keep the old version for
 * `scaleDownDelay` so that a rollback is a switch back, not a redeploy.
 */
export const type = 'blue-green';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    prePromotionAnalysis: analysisRefSchema.optional().describe('Checks on the new version before it takes traffic'),
    smoke: z.array(identifier).default([]).describe('Probes that must all be ok against the preview before the switch'),
    autoPromote: z.boolean().default(true).describe('false: wait for an approval before switching traffic'),
    postPromotionAnalysis: analysisRefSchema.optional().describe('Checks after the switch; failing switches traffic back'),
    scaleDownDelay: duration('How long the old version stays, ready to take traffic back, after the switch').prefault('30s'),
    previewUrl: z.string().optional().describe('Where testers reach the new version before the switch (shown in events)'),
  })
  .describe('Run the new version beside the old, switch all traffic at once, keep the old one for a quick switch back');
export type BlueGreenConfig = z.output<typeof configSchema>;

export function create(): Strategy<BlueGreenConfig> {
  return { type, plan, runtime, declares, shortcut: candidateShortcut };
}

function plan(config: BlueGreenConfig, resolve: AnalysisResolver): StrategyStep[] {
  const steps: StrategyStep[] = [
    { id: 'deploy-green', action: 'deploy-candidate', replicas: 'full' },
    { id: 'verify-green', action: 'verify-candidate' },
  ];
  if (config.smoke.length > 0) steps.push({ id: 'smoke', action: 'smoke', probes: config.smoke });
  if (config.prePromotionAnalysis) steps.push({ id: 'pre-promotion-analysis', action: 'analysis', metrics: resolve(config.prePromotionAnalysis) });
  if (!config.autoPromote) steps.push({ id: 'approve-switch', action: 'approval', message: 'switch all traffic to the new version?' });
  steps.push({ id: 'switch', action: 'set-weight', weight: 100 });
  if (config.postPromotionAnalysis) steps.push({ id: 'post-promotion-analysis', action: 'analysis', metrics: resolve(config.postPromotionAnalysis) });
  if (config.scaleDownDelay > 0) steps.push({ id: 'scale-down-delay', action: 'pause', durationMs: config.scaleDownDelay });
  steps.push({ id: 'remove-blue', action: 'promote' });
  return steps;
}

function runtime(config: BlueGreenConfig): StrategyRuntime {
  // Switching back is the whole point of keeping blue: no delay before green goes.
  return { abortScaleDownDelayMs: 0, ...(config.previewUrl ? { previewUrl: config.previewUrl } : {}) };
}

function declares(config: BlueGreenConfig): StrategyDeclaration {
  return declaration({
    needs: ['candidates'],
    router: 'blue-green switches traffic with a router: add `router` to the stage (without one, traffic cannot move while both versions run)',
    waits: [{ path: ['scaleDownDelay'], ms: config.scaleDownDelay }],
    analyses: [
      ...(config.prePromotionAnalysis ? [{ path: ['prePromotionAnalysis'], ref: config.prePromotionAnalysis }] : []),
      ...(config.postPromotionAnalysis ? [{ path: ['postPromotionAnalysis'], ref: config.postPromotionAnalysis }] : []),
    ],
    probes: config.smoke.map((name, j) => ({ path: ['smoke', j], name })),
  });
}
