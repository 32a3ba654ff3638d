import type { StrategyModule } from '../registry/module.js';
import * as blueGreen from './blue-green.js';
import * as canary from './canary.js';
import * as direct from './direct.js';
import * as progressive from './progressive.js';

/** The strategies that roll a version out (and so the ones `auto` may choose among). */
export const rollouts = { direct, canary, 'blue-green': blueGreen, progressive } satisfies Record<string, StrategyModule>;
