import { z } from 'zod';
import { duration } from '../config/fields.js';
import type { Strategy, StrategyStep } from '../ports/strategy.js';
import { declaration } from './declaration.js';

/**
 * `direct`: deploy the new version everywhere, verify it, roll back on failure. The simplest
 * strategy, and what a hand-written pipeline does, with verification and rollback built in.
 */
export const type = 'direct';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    bake: duration('After a successful verification, wait this long and verify again (catches late failures)').optional(),
  })
  .describe('Deploy everywhere at once, verify, roll back on failure');
export type DirectConfig = z.infer<typeof configSchema>;

export function create(): Strategy<DirectConfig> {
  return {
    type,
    plan(config): StrategyStep[] {
      const steps: StrategyStep[] = [
        { id: 'deploy', action: 'deploy' },
        { id: 'verify', action: 'verify' },
      ];
      if (config.bake) {
        steps.push({ id: 'bake', action: 'pause', durationMs: config.bake }, { id: 'verify-after-bake', action: 'verify' });
      }
      return steps;
    },
    declares: (config) => declaration({ waits: config.bake ? [{ path: ['bake'], ms: config.bake }] : [] }),
  };
}
