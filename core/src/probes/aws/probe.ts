import { CloudError } from '../../cloud/retrying.js';
import type { ProbeResult } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';
import { formatLimit } from '../../util/command-runner.js';

/*
 * What the AWS probes share: one measurement within the probe's timeout and the step's signal,
 * its latency, and every failure as data (`ok: false` with the error), named by the probe's type.
 * An AccessDenied says which IAM action the role needs, whatever AWS's own message says.
 */

export type Measured = Omit<ProbeResult, 'latencyMs'>;

/** Runs `measure` with a context whose signal also ends at `timeoutMs`; never throws. */
export async function measureAws(type: string, timeoutMs: number, ctx: StepContext, measure: (ctx: StepContext) => Promise<Measured>): Promise<ProbeResult> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([ctx.signal, deadline]);
  try {
    if (ctx.signal.aborted) throw new Error('cancelled');
    const measured = await measure({ ...ctx, signal });
    return { ...measured, latencyMs: latencyMs(), ...(measured.error ? { error: `${type} probe: ${measured.error}` } : {}) };
  } catch (err) {
    const why = ctx.signal.aborted ? 'cancelled' : deadline.aborted ? `no answer within ${formatLimit(timeoutMs)}` : (err as Error).message;
    return { ok: false, value: null, latencyMs: latencyMs(), error: `${type} probe: ${why}` };
  }
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
