import type { Stage } from '../../definition/schema.js';
import { ProviderError } from '../../errors.js';
import type { StepContext } from '../../ports/step-context.js';
import type { TrafficRouter } from '../../ports/traffic-router.js';

/**
 * After a weight change, waits until the router observes the split it was asked for (a proxy's
 * reload, a mesh's propagation may lag), as Argo Rollouts verifies a weight: polled every
 * `verify.interval`, up to `verify.timeout`. Fails with both values when they never agree.
 * Returns the split observed.
 */
export async function verifyWeight(stage: Stage, router: TrafficRouter, weight: number, ctx: StepContext): Promise<number> {
  const started = ctx.clock.now();
  for (;;) {
    let observed: number | undefined;
    let trouble = '';
    try {
      observed = (await router.getWeights(ctx)).canary;
      if (observed === weight) return observed;
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.retryable) throw err;
      trouble = `: ${err.message}`;
    }
    if (ctx.clock.now() - started + stage.verify.interval > stage.verify.timeout) {
      throw new ProviderError(
        `the ${router.type} router of ${stage.name} was set to send ${weight}% to the new version, but ${
          observed === undefined ? 'could not say what it sends' : `it sends ${observed}%`
        } after ${Math.round(stage.verify.timeout / 1000)}s${trouble}; check the router (verify.timeout waits longer)`,
      );
    }
    ctx.log.info(`waiting for the router to send ${weight}% (it reports ${observed ?? 'nothing'}${observed === undefined ? '' : '%'})`);
    await ctx.clock.sleep(stage.verify.interval, ctx.signal);
  }
}
