import * as direct from './direct.js';

/** Every strategy by its `type`. Adding one: a file, its test, one line here. */
export const strategies = { direct } as const;
export type StrategyType = keyof typeof strategies;
