import { z } from 'zod';
import { duration } from '../definition/common.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';

export const type = 'sim';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    measure: z
      .enum(['free-capacity', 'nodes-ready', 'error-rate', 'latency-p99', 'version', 'database', 'schema-version'])
      .describe('What to read from the simulated infrastructure'),
    service: z.string().optional().describe('Service for error-rate, latency-p99 and version'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 5s)').prefault('2s'),
  })
  .describe('Reads the simulated infrastructure');
export type SimProbeConfig = z.infer<typeof configSchema>;

export function create(config: SimProbeConfig, deps: ProviderDeps): Probe {
  throw new Error('not implemented yet');
}
