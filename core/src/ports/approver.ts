import type { ApprovalDecision } from '../model/results.js';
import type { StepContext } from './step-context.js';

export interface ApprovalRequest {
  gate: string;
  stage: string;
  environment: string;
  version: string;
  message?: string;
}

/** Decides whether a gated stage may go on. */
export interface Approver {
  readonly type: string;
  /**
   * Asks once. `pending` means "not decided here": the executor then pauses the run (exit code 3)
   * and a later `resume --approve|--reject` carries the decision. Throws `ProviderError`.
   */
  request(req: ApprovalRequest, ctx: StepContext): Promise<ApprovalDecision>;
}
