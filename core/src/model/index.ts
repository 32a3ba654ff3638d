export type * from './audit-entry.js';
export type * from './command.js';
export type * from './events.js';
export type * from './journal.js';
export type * from './results.js';
export type * from './run-context.js';
export { AUDIT_FORMAT } from './audit-entry.js';
export { COMPENSATION_OPS, JOURNAL_FORMAT } from './journal.js';
export { localContext } from './run-context.js';
