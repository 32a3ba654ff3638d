import type { Approver } from '../ports/approver.js';
import type { ProviderModule } from '../registry/module.js';
import * as auto from './auto.js';
import * as gitlab from './gitlab.js';
import * as manual from './manual.js';

/** Every approver by its `type`: the one list the schema and the docs read. */
export const approvers = { manual, auto, gitlab } satisfies Record<string, ProviderModule<Approver>>;
export type ApproverType = keyof typeof approvers;
