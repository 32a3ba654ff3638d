import type { Target } from '../ports/target.js';
import type { TargetModule } from '../registry/module.js';
import * as appService from './app-service.js';
import * as cloudRun from './cloud-run.js';
import * as command from './command.js';
import * as containerApps from './container-apps.js';
import * as ecs from './ecs.js';
import * as fleet from './fleet.js';
import * as kubernetes from './kubernetes.js';
import * as sim from './sim.js';
import * as swarm from './swarm.js';

/** Every target by its `type`: the one list the schema, the docs and the capability checks read. */
export const targets = { 'app-service': appService, 'cloud-run': cloudRun, command, 'container-apps': containerApps, ecs, fleet, kubernetes, sim, swarm } satisfies Record<string, TargetModule<Target>>;
export type TargetType = keyof typeof targets;
