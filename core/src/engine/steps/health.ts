import type { Stage } from '../../definition/schema.js';
import { AnalysisFailedError, ProviderError } from '../../errors.js';
import type { HealthReport } from '../../model/results.js';
import type { StepContext } from '../../ports/step-context.js';

/**
 * Polls a health check until it is healthy. Fails fast when the thing is unhealthy for
 * `failureThreshold` checks in a row with every unit up (a bad version, not a slow start), and at
 * `verify.timeout` otherwise. Retryable provider errors count as "not healthy yet".
 */
export async function pollHealth(stage: Stage, ctx: StepContext, what: string, read: () => Promise<HealthReport>): Promise<string> {
  const started = ctx.clock.now();
  let failuresWhileUp = 0;
  for (;;) {
    let last: string;
    try {
      const health = await read();
      if (health.healthy) return `${what} healthy (${health.ready}/${health.total} ready)`;
      last = `${health.message ?? 'not healthy'} (${health.ready}/${health.total} ready)`;
      failuresWhileUp = health.ready === health.total ? failuresWhileUp + 1 : 0;
      if (failuresWhileUp >= stage.verify.failureThreshold) {
        throw new AnalysisFailedError(`${stage.name}: ${what} unhealthy in ${failuresWhileUp} checks in a row with every unit up: ${last}`);
      }
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.retryable) throw err;
      last = `health check errored: ${err.message}`;
    }
    if (ctx.clock.now() - started + stage.verify.interval > stage.verify.timeout) {
      throw new AnalysisFailedError(`${stage.name}: ${what} not healthy after ${Math.round(stage.verify.timeout / 1000)}s: ${last}`);
    }
    ctx.log.info(`waiting for ${what} health: ${last}`);
    await ctx.clock.sleep(stage.verify.interval, ctx.signal);
  }
}
