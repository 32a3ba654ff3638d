import { z } from 'zod';
import type { Approver } from '../ports/approver.js';
import type { ProviderDeps } from '../ports/provider-deps.js';

/** `auto`: decides at once. For tests and development environments, never a silent default. */
export const type = 'auto';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    decision: z.enum(['approve', 'reject']).default('approve'),
    by: z.string().default('rollgate-auto').describe('Recorded as the approver'),
  })
  .describe('Decide at once (for tests and development environments)');
export type AutoApprovalConfig = z.infer<typeof configSchema>;

export function create(config: AutoApprovalConfig, deps: ProviderDeps): Approver {
  return {
    type,
    async request() {
      return {
        status: config.decision === 'approve' ? 'approved' : 'rejected',
        by: config.by,
        at: new Date(deps.clock.now()).toISOString(),
      };
    },
  };
}
