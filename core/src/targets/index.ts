import type { Target } from '../ports/target.js';
import type { TargetModule } from '../registry/module.js';
import * as command from './command.js';
import * as fleet from './fleet.js';
import * as kubernetes from './kubernetes.js';
import * as sim from './sim.js';
import * as swarm from './swarm.js';

/** Every target by its `type`: the one list the schema, the docs and the capability checks read. */
export const targets = { command, fleet, kubernetes, sim, swarm } satisfies Record<string, TargetModule<Target>>;
export type TargetType = keyof typeof targets;
