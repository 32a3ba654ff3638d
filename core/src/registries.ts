import { approvers } from './approvals/index.js';
import { auditSinks } from './audit/index.js';
import * as azure from './azure/family.js';
import * as aws from './aws/family.js';
import { defaultMetricProviders, metricProviders } from './metrics/index.js';
import * as gcp from './gcp/family.js';
import * as kubernetes from './kubernetes/family.js';
import { notifiers } from './notifiers/index.js';
import { probes } from './probes/index.js';
import type { FamilyModule } from './registry/module.js';
import { routers } from './routers/index.js';
import * as sim from './sim/family.js';
import * as swarm from './swarm/family.js';
import { strategies } from './strategies/index.js';
import { targets } from './targets/index.js';

/*
 * Every registry in one place: what the workflow schema, the rules, the docs and the engine read.
 * Each port's own list is in its folder's index.ts; a family with workflow-level settings is here.
 */
export { approvers, auditSinks, defaultMetricProviders, metricProviders, notifiers, probes, routers, strategies, targets };

/** Provider families with settings of their own, by the key of their block. */
export const families = { aws, azure, gcp, kubernetes, sim, swarm } satisfies Record<string, FamilyModule>;
export type FamilyName = keyof typeof families;
