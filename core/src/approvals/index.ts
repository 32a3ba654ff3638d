import * as auto from './auto.js';
import * as manual from './manual.js';

/** Every approver by its `type`. */
export const approvers = { manual, auto } as const;
export type ApproverType = keyof typeof approvers;
