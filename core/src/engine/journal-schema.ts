import { z } from 'zod';
import { JournalError } from '../errors.js';
import { COMPENSATION_OPS, JOURNAL_FORMAT, type RunJournal } from '../model/journal.js';

/**
 * A journal read back from a file is input like a workflow file: it travels as a CI artifact and
 * can be edited by hand. It is checked as strictly before anything acts on it: every field's type,
 * the run id's characters (it names files), the workflow path's kind, the statuses, and that every
 * undo names an operation this rollgate knows. A journal that fails is refused with the field
 * that is wrong, and nothing is written.
 */

/** Run ids name files (`<run-id>.jsonl`): letters, digits, `.`, `_`, `-`, never `..` or `/`. */
export const RUN_ID_PATTERN = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The schema, built at the first read: a fresh run never reads a journal, and building the schema
 * is part of every start otherwise.
 */
let built: ReturnType<typeof buildJournalSchema> | undefined;
export function journalSchema(): ReturnType<typeof buildJournalSchema> {
  return (built ??= buildJournalSchema());
}

function buildJournalSchema() {
  const runStatus = z.enum(['running', 'paused', 'succeeded', 'failed', 'rolled-back', 'manual-intervention-required', 'cancelled']);
  const stageStatus = z.enum(['pending', 'skipped', 'running', 'paused', 'succeeded', 'failed', 'rolled-back', 'manual-intervention-required', 'cancelled']);
  const iso = z.string().max(64);
  const decision = z.object({
    status: z.enum(['approved', 'rejected', 'pending']),
    by: z.string().max(256).optional(),
    comment: z.string().max(10_000).optional(),
    at: iso.optional(),
  });
  const opNames = COMPENSATION_OPS;

  const compensation = z.object({
    id: z.string().max(1024),
    stepId: z.string().max(256),
    description: z.string().max(10_000),
    op: z.enum(opNames, { error: (issue) => `unknown undo operation ${JSON.stringify(issue.input)}; this rollgate knows ${opNames.join(', ')}` }),
    params: z.record(z.string(), z.unknown()),
    status: z.enum(['pending', 'done', 'failed']),
    attempts: z.number().int().min(0),
    error: z.string().optional(),
  });

  const step = z.object({
    id: z.string().max(256),
    action: z.string().max(64),
    status: z.enum(['pending', 'running', 'succeeded', 'failed']),
    attempts: z.number().int().min(0),
    startedAt: iso.optional(),
    finishedAt: iso.optional(),
    error: z.string().optional(),
  });

  const stage = z.object({
    status: stageStatus,
    environment: z.string().max(256),
    version: z.string().max(1024),
    strategy: z.string().max(64).optional(),
    startedAt: iso.optional(),
    finishedAt: iso.optional(),
    message: z.string().optional(),
    steps: z.array(step),
    compensations: z.array(compensation),
    approval: decision.optional(),
    pausedAt: z.string().max(256).optional(),
    decisions: z.record(z.string(), decision).optional(),
    chosen: z.unknown().optional(),
    facts: z.object({ running: z.string().max(1024).nullable() }).optional(),
    blockedBy: z.string().max(256).optional(),
  });

  const secretPart = z.union([z.string(), z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) })]);

  return z.object({
    format: z.literal(JOURNAL_FORMAT),
    runId: z.string().regex(RUN_ID_PATTERN, 'a run id is letters, digits, ".", "_" and "-" (it names files), without ".."'),
    workflow: z.object({
      name: z.string().max(256),
      path: z
        .string()
        .max(4096)
        .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path')
        .refine((p) => /\.(ya?ml|json)$/i.test(p), 'must name a .yml, .yaml or .json workflow file'),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256'),
      binding: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    }),
    context: z.object({
      actor: z.string().max(256),
      ci: z.enum(['github', 'gitlab', 'jenkins', 'local']),
      repository: z.string().max(1024).optional(),
      commit: z.string().max(256).optional(),
      ref: z.string().max(1024).optional(),
      runUrl: z.string().max(4096).optional(),
      commitUrl: z.string().max(4096).optional(),
      job: z.string().max(1024).optional(),
      change: z.string().max(256).optional(),
    }),
    inputs: z.record(z.string(), z.string()),
    secretInputs: z.record(z.string(), z.array(secretPart)).optional(),
    selection: z.object({ stages: z.array(z.string()).optional(), environment: z.string().optional() }),
    status: runStatus,
    createdAt: iso,
    updatedAt: iso,
    seq: z.number().int().min(0),
    stages: z.record(z.string(), stage),
    processes: z
      .array(
        z.object({
          pgid: z.number().int().min(2),
          host: z.string().max(256),
          stage: z.string().max(256),
          step: z.string().max(256),
          command: z.string().max(1024),
          startedAt: iso,
        }),
      )
      .optional(),
    workers: z.array(z.object({ token: z.string().regex(/^[0-9a-f]{8,64}$/), pid: z.number().int(), host: z.string().max(256), startedAt: iso })).optional(),
    providers: z.record(z.string().max(512), z.unknown()).optional(),
    clock: z.object({ virtualNow: z.number() }).optional(),
    message: z.string().optional(),
  });
}

/** Checks parsed journal data; throws `JournalError` naming every wrong field, changes nothing. */
export function checkJournal(data: unknown, location: string): RunJournal {
  // Read once or twice per process: zod's compiled fast path would cost more to build than it saves.
  const result = journalSchema().safeParse(data, { jitless: true });
  if (result.success) return result.data as RunJournal;
  const problems = result.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
  const more = result.error.issues.length > 10 ? `; and ${result.error.issues.length - 10} more` : '';
  throw new JournalError(
    `run journal ${location} is damaged or was edited by hand: ${problems.join('; ')}${more}; it was left as it is. ` +
      "Restore it from the CI artifact that 'rollgate run' wrote.",
  );
}
