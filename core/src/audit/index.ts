import * as file from './file.js';
import * as http from './http.js';
import * as stdout from './stdout.js';

/** Every audit sink by its `type`. */
export const auditSinks = { file, stdout, http } as const;
export type AuditSinkType = keyof typeof auditSinks;
