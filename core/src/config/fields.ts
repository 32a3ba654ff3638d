import { z } from 'zod';
import type { CommandSpec } from '../model/command.js';
import { DURATION_PATTERN, parseDuration } from '../util/duration.js';

/**
 * Shared field schemas. Every field has a description: it becomes the editor tooltip.
 * Durations are written as text (`30s`) and parsed to milliseconds; give defaults with
 * `.prefault('30s')` so the default is parsed too.
 */
// Built once and described per field: every zod method makes a new schema, and the workflow
// schema has some fifty durations, all built at every start.
const durationSchema = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'expected a duration such as 500ms, 30s, 5m or 1h')
  .transform((text) => parseDuration(text) as number);
export const duration = (description: string) => durationSchema.describe(description);

const envVarNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name such as SLACK_BOT_TOKEN');
/** An environment variable's name: how secrets are referenced, never their values. */
export const envVarName = (description: string) => envVarNameSchema.describe(description);

/**
 * A command: an argv array run without a shell (safe for any value), or `{ run, shell }` when a
 * shell is really wanted. Workflow values reach commands as ROLLGATE_* environment variables.
 */
export const commandSpec = z.union([
  z.array(z.string()).min(1).describe('Program and arguments, run without a shell'),
  z.strictObject({
    run: z
      .union([z.array(z.string()).min(1), z.string().min(1)])
      .describe('An argv array, or script text when `shell` is true'),
    shell: z
      .union([z.boolean(), z.enum(['sh', 'bash'])])
      .default(false)
      .describe('Run `run` as script text through /bin/sh (true or sh) or bash. Off by default.'),
    timeout: duration('Kill the command after this long').optional(),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables (plain values; use *Env fields for secrets)'),
    cwd: z.string().optional().describe('Working directory, relative to the workflow file (default: where rollgate runs, like a CI run: step)'),
  }),
]);
export type { CommandSpec } from '../model/command.js';
// The schema's output is the model's type: a change to either fails to compile here.
const _commandSpecMatches: z.infer<typeof commandSpec> extends CommandSpec ? (CommandSpec extends z.infer<typeof commandSpec> ? true : never) : never = true;
void _commandSpecMatches;

export const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a name of letters, digits and _ that does not start with a digit (names are used in conditions, as in probes.NAME)');

export const slug = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected lowercase letters, digits and dashes (like a Kubernetes name)');

/** Bytes of a command's output kept in memory: every provider that runs the user's commands. */
export const commandOutputLimit = z.number().int().positive().default(1_048_576).describe('Bytes of output kept per command (all of it is still streamed)');

/** Which failures of the user's commands are retried with the stage's retry policy. */
export const commandRetryOn = z
  .strictObject({
    exitCodes: z.array(z.number().int().min(1).max(255)).default([]).describe('Exit codes that mean "try again" (e.g. 75, EX_TEMPFAIL)'),
    timeout: z.boolean().default(false).describe('Retry a command that timed out'),
  })
  .prefault({})
  .describe('Which command failures are retried with the stage’s retry policy (none by default: a failed command is not retried)');
