import type { StrategyModule } from '../registry/module.js';
import * as auto from './auto.js';
import { rollouts } from './rollouts.js';

/** Every strategy by its `type`: the one list the schema, the docs and the rules read. */
export const strategies = { ...rollouts, auto } satisfies Record<string, StrategyModule>;
export type StrategyType = keyof typeof strategies;
