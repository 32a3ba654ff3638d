import type { ProbeResult, ProbeSnapshot } from '../model/results.js';
import type { Probe } from '../ports/probe.js';
import type { StepContext } from '../ports/step-context.js';
import { followAbort } from '../util/abort.js';

/**
 * The whole snapshot never takes longer than this, so a state check finishes within 5 s: 100 ms
 * are left for a timer that fires late on a busy event loop (2–6 ms measured in
 * bench/probe-snapshot.mjs with a hanging probe and a 5,000 ms deadline).
 */
export const SNAPSHOT_DEADLINE_MS = 4900;

export interface NamedProbe {
  name: string;
  probe: Probe;
  timeoutMs: number;
}

/**
 * Runs probes in parallel, each under its own timeout and all under the snapshot deadline. A probe
 * that overruns is recorded as failed with the reason; a probe never fails the snapshot.
 */
export async function takeSnapshot(
  probes: NamedProbe[],
  ctx: StepContext,
  deadlineMs = SNAPSHOT_DEADLINE_MS,
): Promise<ProbeSnapshot> {
  const results = await Promise.all(
    probes.map(async ({ name, probe, timeoutMs }) => [name, await runOne(name, probe, Math.min(timeoutMs, deadlineMs), ctx)] as const),
  );
  return Object.fromEntries(results);
}

async function runOne(name: string, probe: Probe, limitMs: number, ctx: StepContext): Promise<ProbeResult> {
  const { controller, dispose } = followAbort(ctx.signal);
  const started = ctx.clock.now();
  let cancelTimer = () => {};
  const timedOut = new Promise<ProbeResult>((resolve) => {
    cancelTimer = ctx.clock.setTimer(limitMs, () => {
      controller.abort(new Error('timeout'));
      resolve({ ok: false, value: null, latencyMs: limitMs, error: `timed out after ${limitMs}ms` });
    });
  });
  try {
    const result = await Promise.race([
      probe.check({ ...ctx, step: `probe-${name}`, signal: controller.signal }).catch(
        (err: unknown): ProbeResult => ({
          ok: false,
          value: null,
          latencyMs: ctx.clock.now() - started,
          error: err instanceof Error ? err.message : String(err),
        }),
      ),
      timedOut,
    ]);
    return result;
  } finally {
    cancelTimer();
    dispose();
  }
}
