import * as command from './command.js';
import * as sim from './sim.js';

/** Every target by its `type`. Adding one: a file, its test, one line here. */
export const targets = { command, sim } as const;
export type TargetType = keyof typeof targets;
