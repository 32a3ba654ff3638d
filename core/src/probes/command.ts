import { z } from 'zod';
import { commandSpec, duration } from '../definition/common.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';

export const type = 'command';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    run: commandSpec.describe('Command to run; ok when it exits 0, and its trimmed stdout (a number when numeric) is `value`'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 5s)').prefault('2s'),
  })
  .describe('Runs a command; ok when it exits 0');
export type CommandProbeConfig = z.infer<typeof configSchema>;

export function create(config: CommandProbeConfig, deps: ProviderDeps): Probe {
  throw new Error('not implemented yet');
}
