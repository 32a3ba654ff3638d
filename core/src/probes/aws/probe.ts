import { CloudError } from '../../cloud/retrying.js';
import type { ProbeResult } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import { type Measured, measureProbe } from '../measure.js';

/*
 * What the AWS probes share beyond measureProbe: an AccessDenied says which IAM action the role
 * needs, whatever AWS's own message says, and a missing resource is read off the error's code.
 */

export type { Measured } from '../measure.js';

/** Runs `measure` within the probe's timeout and the step's signal; never throws (see measureProbe). */
export function measureAws(type: string, timeoutMs: number, ctx: StepContext, measure: (ctx: StepContext) => Promise<Measured>): Promise<ProbeResult> {
  return measureProbe(`${type} probe`, timeoutMs, ctx, measure);
}

/** `call`, with an AccessDenied rewritten to name `action` (rds:DescribeDBInstances…). */
export async function needing<T>(action: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof CloudError && /^(AccessDenied|UnauthorizedOperation|NotAuthorized)/.test(err.code ?? '') && !err.message.includes(action)) {
      const base = err.message.replace(/; grant the action to the role rollgate runs as$/, '');
      throw new CloudError(`${base}; grant ${action} to the role rollgate runs as`, { code: err.code, ...(err.status !== undefined ? { status: err.status } : {}), cause: err });
    }
    throw err;
  }
}

/** A CloudError whose AWS code is one of `codes` (a missing resource), else `undefined`. */
export function codeOf(err: unknown, ...codes: string[]): string | undefined {
  return err instanceof CloudError && codes.includes(err.code ?? '') ? err.code : undefined;
}
