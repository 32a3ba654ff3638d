import type { ProbeResult } from '../model/results.js';
import type { StepContext } from '../ports/step-context.js';
import { formatLimit } from '../util/command-runner.js';

/*
 * What the probes that call an API share: one measurement within the probe's timeout and the
 * step's signal, its latency, and every failure as data (`ok: false` with the error, never thrown,
 * so conditions can branch on it), each error named by the probe (`kubernetes capacity probe: …`).
 */

export type Measured = Omit<ProbeResult, 'latencyMs'>;

/**
 * Runs `measure` with a context whose signal also ends at `timeoutMs`; never throws. `name` starts
 * every error unless the error already starts with it; `strip` removes the prefix a backend's own
 * errors carry (`swarm: `), which the probe's name replaces.
 */
export async function measureProbe(name: string, timeoutMs: number, ctx: StepContext, measure: (ctx: StepContext) => Promise<Measured>, strip?: RegExp): Promise<ProbeResult> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([ctx.signal, deadline]);
  const named = (error: string) => (error.startsWith(`${name}: `) ? error : `${name}: ${strip ? error.replace(strip, '') : error}`);
  try {
    if (ctx.signal.aborted) throw new Error('cancelled');
    const measured = await measure({ ...ctx, signal });
    return { ...measured, latencyMs: latencyMs(), ...(measured.error ? { error: named(measured.error) } : {}) };
  } catch (err) {
    const why = ctx.signal.aborted ? 'cancelled' : deadline.aborted ? `no answer within ${formatLimit(timeoutMs)}` : (err as Error).message;
    return { ok: false, value: null, latencyMs: latencyMs(), error: named(why) };
  }
}
