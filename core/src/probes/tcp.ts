import { z } from 'zod';
import { duration } from '../definition/common.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';

export const type = 'tcp';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 5s)').prefault('2s'),
  })
  .describe('Opens a TCP connection; ok when it connects');
export type TcpProbeConfig = z.infer<typeof configSchema>;

export function create(config: TcpProbeConfig, deps: ProviderDeps): Probe {
  throw new Error('not implemented yet');
}
