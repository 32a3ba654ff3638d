import { z } from 'zod';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { Target } from '../ports/target.js';
import { commandSpec, duration } from '../definition/common.js';

export const type = 'command';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    current: commandSpec
      .optional()
      .describe('Prints the version running now on stdout (empty output: nothing deployed). Without it the previous version is the one rollgate last deployed.'),
    deploy: commandSpec.describe('Deploys $ROLLGATE_VERSION. Must be idempotent.'),
    health: commandSpec.optional().describe('Exits 0 when the deployed version is healthy; polled during verification'),
    revert: commandSpec
      .optional()
      .describe('Puts $ROLLGATE_PREVIOUS_VERSION back (empty when this was a first deploy). Without it a failed stage needs a human.'),
    timeout: duration('Default time limit for each command').prefault('10m'),
    outputLimit: z.number().int().positive().default(1_048_576).describe('Bytes of output kept per command (all of it is still streamed)'),
  })
  .describe('Runs your own commands to deploy, check health and revert: anything with a CLI');
export type CommandTargetConfig = z.infer<typeof configSchema>;
type Config = CommandTargetConfig;

export function create(config: Config, deps: ProviderDeps): Target {
  throw new Error('not implemented yet');
}
