import { z } from 'zod';
import type { Strategy, StrategyStep } from '../ports/strategy.js';
import * as blueGreen from './blue-green.js';
import * as canary from './canary.js';
import * as direct from './direct.js';
import * as progressive from './progressive.js';

/**
 * `auto`: picks one of the other strategies when the stage starts, from the probe snapshot, by the
 * first rule whose condition holds (for example blue-green only when the cluster has room for a
 * second copy). The choice and the values behind it are recorded as a decision.
 */
export const type = 'auto';

export const choiceSchema = z.discriminatedUnion('type', [
  direct.configSchema,
  canary.configSchema,
  blueGreen.configSchema,
  progressive.configSchema,
]);
export type Choice = z.output<typeof choiceSchema>;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    rules: z
      .array(
        z.strictObject({
          when: z.string().describe('CEL condition over probes.NAME, inputs.NAME and vars.NAME'),
          use: choiceSchema.describe('The strategy to use when the condition holds'),
        }),
      )
      .min(1)
      .describe('Tried in order; the first whose condition holds wins'),
    otherwise: choiceSchema.describe('The strategy to use when no rule holds'),
  })
  .describe('Choose a strategy at run time from the infrastructure state');
export type AutoConfig = z.output<typeof configSchema>;

export function create(): Strategy<AutoConfig> {
  return {
    type,
    // The choice needs probe values, so the plan is one step; the executor replaces it with the
    // chosen strategy's plan and records why.
    plan: (): StrategyStep[] => [{ id: 'choose-strategy', action: 'choose' }],
  };
}
