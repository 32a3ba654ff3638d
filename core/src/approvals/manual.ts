import { z } from 'zod';
import type { Approver } from '../ports/approver.js';

/**
 * `manual`: never decides in-process. The run pauses (exit code 3) with its journal written; the
 * decision arrives with `rollgate resume --approve|--reject`, typically from a CI job behind the
 * platform's own environment protection, so the platform records who approved.
 */
export const type = 'manual';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    message: z.string().optional().describe('Shown to approvers'),
  })
  .describe('Pause the run (exit code 3) until `rollgate resume --approve` or `--reject`');
export type ManualApprovalConfig = z.infer<typeof configSchema>;

export function create(): Approver {
  return {
    type,
    async request() {
      return { status: 'pending' };
    },
  };
}
