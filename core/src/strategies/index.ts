import * as auto from './auto.js';
import * as blueGreen from './blue-green.js';
import * as canary from './canary.js';
import * as direct from './direct.js';
import * as progressive from './progressive.js';

/** Every strategy by its `type`. Adding one: a file, its test, one line here and in the schema. */
export const strategies = { direct, canary, 'blue-green': blueGreen, progressive, auto } as const;
export type StrategyType = keyof typeof strategies;
