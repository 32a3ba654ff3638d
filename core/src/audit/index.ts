import * as file from './file.js';

/** Every audit sink by its `type`. */
export const auditSinks = { file } as const;
export type AuditSinkType = keyof typeof auditSinks;
