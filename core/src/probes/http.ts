import { z } from 'zod';
import { duration, envVarName } from '../definition/common.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';

export const type = 'http';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    url: z.string().min(1).describe('URL to request; {{ vars.NAME }} placeholders take environment variables'),
    method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
    expectStatus: z.array(z.number().int().min(100).max(599)).optional().describe('Statuses that count as ok (default: any 2xx)'),
    headers: z.record(z.string(), z.string()).optional().describe('Plain request headers'),
    bearerTokenEnv: envVarName('Environment variable holding a bearer token sent as Authorization').optional(),
    jsonPath: z.string().optional().describe('Dot path into a JSON body whose value becomes `value` (e.g. status.ready)'),
    timeout: duration('Give up on this probe after this long (the whole snapshot stops at 5s)').prefault('2s'),
  })
  .describe('Requests a URL; ok when the status is expected');
export type HttpProbeConfig = z.infer<typeof configSchema>;

export function create(config: HttpProbeConfig, deps: ProviderDeps): Probe {
  throw new Error('not implemented yet');
}
