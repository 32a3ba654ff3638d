import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../clocks/virtual.js';
import type { Stage } from '../../definition/schema.js';
import { ProviderError } from '../../errors.js';
import type { TrafficRouter } from '../../ports/traffic-router.js';
import { fakeStepContext } from '../../testing/fakes.js';
import { verifyWeight } from './verify-weight.js';

/* After a weight change the router must report the split before the rollout goes on. */

const stage = { name: 'web', verify: { interval: 5000, timeout: 20_000, failureThreshold: 3 } } as Stage;

/** A router that reports the answers in order (the last repeats); an Error is thrown. */
function lagging(answers: (number | Error)[]): TrafficRouter & { calls: number } {
  const router = {
    type: 'lagging',
    calls: 0,
    async setWeights() {},
    async getWeights() {
      const answer = answers[Math.min(router.calls++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return { canary: answer as number };
    },
    async finalize() {},
  };
  return router;
}

describe('verifyWeight', () => {
  it('waits, interval by interval, until the router reports the weight', async () => {
    const clock = createVirtualClock(0);
    const router = lagging([0, new ProviderError('reloading', { retryable: true }), 20]);
    expect(await verifyWeight(stage, router, 20, fakeStepContext({ clock }))).toBe(20);
    expect(router.calls).toBe(3);
    expect(clock.now()).toBe(10_000);
  });

  it('fails with both values when they never agree within verify.timeout', async () => {
    const clock = createVirtualClock(0);
    await expect(verifyWeight(stage, lagging([10]), 20, fakeStepContext({ clock }))).rejects.toThrow(
      'the lagging router of web was set to send 20% to the new version, but it sends 10% after 20s; check the router (verify.timeout waits longer)',
    );
    await expect(verifyWeight(stage, lagging([new ProviderError('503', { retryable: true })]), 20, fakeStepContext({ clock }))).rejects.toThrow(
      'the lagging router of web was set to send 20% to the new version, but could not say what it sends after 20s: 503; check the router',
    );
  });

  it('does not retry an error that says retrying cannot help', async () => {
    await expect(verifyWeight(stage, lagging([new ProviderError('forbidden')]), 20, fakeStepContext({ clock: createVirtualClock(0) }))).rejects.toThrow('forbidden');
  });
});
