import { z } from 'zod';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { Target } from '../ports/target.js';

export const type = 'sim';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    service: z.string().min(1).optional().describe('Service name in the simulated cluster (default: the stage name)'),
    replicas: z.number().int().positive().optional().describe('Replicas of the service (default: one per node)'),
  })
  .describe('A service in the simulated infrastructure (see `sim`)');
export type SimTargetConfig = z.infer<typeof configSchema>;
type Config = SimTargetConfig;

export function create(config: Config, deps: ProviderDeps): Target {
  throw new Error('not implemented yet');
}
