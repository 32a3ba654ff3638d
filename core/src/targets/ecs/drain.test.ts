import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../clocks/virtual.js';
import { providerFailure } from '../../testing/contracts/kit.js';
import { fakeStepContext } from '../../testing/fakes.js';
import type { EcsApi } from './api.js';
import { awaitDrained } from './rollout.js';

/* The wait for a deleted service's name, when ECS keeps it DRAINING longer than the rollout may wait. */
describe('awaitDrained', () => {
  it('says which service still drains and what to do, after the rollout timeout', async () => {
    const clock = createVirtualClock();
    const lines: string[] = [];
    let reads = 0;
    const api = { cluster: 'prod', draining: async () => (reads += 1) > 0 } as unknown as EcsApi;
    const ctx = fakeStepContext({ clock, log: { info: (m) => lines.push(m), warn() {}, output() {} } });
    const err = await providerFailure(awaitDrained(api, 'web-candidate', { intervalMs: 1000, timeoutMs: 5000 }, ctx));
    expect(err.message).toBe(
      'ecs target: service prod/web-candidate of an earlier rollout was still draining after 5s, so no candidate of that name can be created; check its tasks (aws ecs list-tasks --service-name web-candidate), or set candidateService to another name',
    );
    expect(lines).toHaveLength(1);
    expect(reads).toBe(6);
  });
});
