import { z } from 'zod';
import { duration } from '../config/fields.js';
import type { Strategy, StrategyRuntime, StrategyStep } from '../ports/strategy.js';
import { amountSchema } from './amount.js';
import { declaration } from './declaration.js';

/**
 * `progressive`: roll a fleet (nodes, hosts, regions) in waves. Each wave brings the fleet up to
 * its size, at most `maxParallel` units at a time and never more than `maxUnavailable` out of
 * service; every changed unit is checked, and units that fail count against `failureBudget`.
 * Rollback reverts only the units that were changed.
 */
export const type = 'progressive';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    waves: z
      .array(amountSchema)
      .min(1)
      .default([{ count: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }])
      .describe('Units on the new version after each wave, cumulative: counts or percentages of the fleet (a final 100% is added)'),
    maxParallel: amountSchema.default({ count: 10 }).describe('Units changed at the same time'),
    maxUnavailable: amountSchema.default({ percent: 10 }).describe('Units out of service at once while they are being changed; caps maxParallel'),
    failureBudget: amountSchema.default({ count: 0 }).describe('Units that may fail before the rollout stops and rolls back'),
    bake: duration('Wait after each wave, with monitors watching, before the next one').prefault('0s'),
    verify: z.boolean().default(true).describe('Check each changed unit’s health'),
  })
  .describe('Roll a fleet in waves with a failure budget');
export type ProgressiveConfig = z.output<typeof configSchema>;

export function create(): Strategy<ProgressiveConfig> {
  return { type, plan, runtime, declares: (config) => declaration({ needs: ['fleet'], waits: [{ path: ['bake'], ms: config.bake }] }) };
}

function plan(config: ProgressiveConfig): StrategyStep[] {
  const waves = [...config.waves];
  const last = waves.at(-1);
  if (!last || !('percent' in last && last.percent >= 100)) waves.push({ percent: 100 });
  const steps: StrategyStep[] = [];
  waves.forEach((upTo, i) => {
    steps.push({ id: `wave-${i + 1}`, action: 'wave', index: i + 1, upTo });
    if (config.bake > 0) steps.push({ id: `bake-${i + 1}`, action: 'pause', durationMs: config.bake });
  });
  return steps;
}

function runtime(config: ProgressiveConfig): StrategyRuntime {
  return { fleet: { maxParallel: config.maxParallel, maxUnavailable: config.maxUnavailable, failureBudget: config.failureBudget, verify: config.verify } };
}
