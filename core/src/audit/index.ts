import type { AuditSink } from '../ports/audit-sink.js';
import type { ProviderModule } from '../registry/module.js';
import * as file from './file.js';
import * as http from './http.js';
import * as stdout from './stdout.js';

/** Every audit sink by its `type`: the one list the schema and the docs read. */
export const auditSinks = { file, stdout, http } satisfies Record<string, ProviderModule<AuditSink>>;
export type AuditSinkType = keyof typeof auditSinks;
