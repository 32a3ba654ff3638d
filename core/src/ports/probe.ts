import type { ProbeResult } from '../model/results.js';
import type { StepContext } from './step-context.js';

/**
 * Reads one fact about the infrastructure. Read-only: probing never changes anything, so `plan`
 * may run probes.
 */
export interface Probe {
  readonly type: string;
  /**
   * Measures once. Failures are data (`ok: false` with `error`), never thrown, so conditions can
   * branch on them. Must return promptly when `ctx.signal` aborts (the snapshot deadline).
   */
  check(ctx: StepContext): Promise<ProbeResult>;
}
