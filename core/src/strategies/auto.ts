import { z } from 'zod';
import type { Strategy, StrategyDeclaration, StrategyStep } from '../ports/strategy.js';
import { unionOf } from '../registry/module.js';
import { compileCondition, referencedProbes } from '../util/expression.js';
import { declaration } from './declaration.js';
import { rollouts } from './rollouts.js';

/**
 * `auto`: picks one of the other strategies when the stage starts, from the probe snapshot, by the
 * first rule whose condition holds (for example blue-green only when the cluster has room for a
 * second copy). The choice and the values behind it are recorded as a decision.
 */
export const type = 'auto';

export const choiceSchema = unionOf(rollouts);
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
    // The choice needs probe values, so the plan is one step; once it is made (see `choose`), the
    // chosen strategy plans the rest, and the choice is kept in the journal.
    plan: (): StrategyStep[] => [{ id: 'choose-strategy', action: 'choose' }],
    declares,
  };
}

/** The probes the rules read: measured just before the choice. */
export function probesOf(config: AutoConfig): string[] {
  return [...new Set(config.rules.flatMap((r) => referencedProbes(r.when)))];
}

export interface AutoChoice {
  chosen: Choice;
  /** The condition that held, or every rule's when none did. */
  condition: string;
  reason: string;
}

/**
 * The choice, from the values the rules read (`probes`, `inputs`, `vars`…): the first rule whose
 * condition holds, else `otherwise`. Pure: the same scope gives the same choice.
 */
export function choose(config: AutoConfig, scope: Record<string, unknown>): AutoChoice {
  const rule = config.rules.find((r) => compileCondition(r.when)(scope));
  if (rule) return { chosen: rule.use, condition: rule.when, reason: `${rule.when} holds` };
  return {
    chosen: config.otherwise,
    condition: config.rules.map((r) => r.when).join(' || '),
    reason: `no rule holds (${config.rules.map((r) => r.when).join('; ')}), so the fallback`,
  };
}

function declares(config: AutoConfig): StrategyDeclaration {
  return declaration({
    conditions: config.rules.map((r, i) => ({ path: ['rules', i, 'when'], text: r.when })),
    choices: [...config.rules.map((r, i) => ({ path: ['rules', i, 'use'], config: r.use })), { path: ['otherwise'], config: config.otherwise }],
  });
}
