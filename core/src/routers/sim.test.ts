import { describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { createSimHarness } from '../testing/sim-harness.js';
import { routers } from './index.js';
import { configSchema, create, type } from './sim.js';

describe('sim router', () => {
  it('is registered and parses its config', () => {
    expect(routers.sim.type).toBe(type);
    expect(configSchema.parse({ type: 'sim', service: 'web' })).toEqual({ type: 'sim', service: 'web' });
    expect(() => configSchema.parse({ type: 'sim', extra: 1 })).toThrow();
  });

  it('walks the canary weights, records changes, and the weight moves the metrics', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2' }] });
    const router = create({ type: 'sim' }, h.deps);
    expect(router.type).toBe('sim');
    const ctx = h.ctx('web');
    h.world.deployCandidate('web', 'v2', 1);
    h.clock.advance(10_000);
    expect(await router.getWeights(ctx)).toEqual({ canary: 0 });
    await router.setWeights({ canary: 10 }, ctx);
    expect(await router.getWeights(ctx)).toEqual({ canary: 10 });
    const at10 = h.world.errorRate('web') as number;
    await router.setWeights({ canary: 10 }, ctx); // idempotent
    await router.setWeights({ canary: 50 }, ctx);
    expect(h.world.errorRate('web') as number).toBeGreaterThan(at10 * 3);
    await router.finalize(ctx);
    expect(await router.getWeights(ctx)).toEqual({ canary: 0 });
    expect(h.world.traffic('web')).toEqual([{ version: 'v1', share: 1, role: 'stable' }]);
    await router.finalize(ctx); // idempotent
    expect(h.changes).toEqual([
      { object: 'route/web', field: 'weight', before: null, after: 10 },
      { object: 'route/web', field: 'weight', before: 10, after: 50 },
      { object: 'route/web', field: 'weight', before: 50, after: null },
    ]);
  });

  it('puts back on finalize the split it found on first touch, also from another process', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1' } } });
    h.world.deployCandidate('web', 'v2', 1);
    h.world.setWeight('web', 5); // someone else's split, there before rollgate
    const router = create({ type: 'sim' }, h.deps);
    await router.setWeights({ canary: 40 }, h.ctx());
    expect(h.deps.state.get()).toEqual({ found: 5 });
    // A later process of the run: a new router with only what was kept.
    await create({ type: 'sim' }, h.deps).finalize(h.ctx());
    expect(await router.getWeights(h.ctx())).toEqual({ canary: 5 });
  });

  it('never promotes on finalize, even after 100 %: the target promotes', async () => {
    const h = createSimHarness({ services: { api: { version: 'a1' } } });
    const router = create({ type: 'sim', service: 'api' }, h.deps);
    h.world.deployCandidate('api', 'a2', 5);
    h.clock.advance(10_000);
    await router.setWeights({ canary: 100 }, h.ctx('stage-x'));
    expect(h.world.traffic('api')).toEqual([{ version: 'a2', share: 1, role: 'candidate' }]);
    await router.finalize(h.ctx('stage-x'));
    expect(h.world.traffic('api')).toEqual([{ version: 'a1', share: 1, role: 'stable' }]);
    expect(h.world.service('api')?.version).toBe('a1');
    expect(h.changes.at(-1)).toEqual({ object: 'route/api', field: 'weight', before: 100, after: null });
  });

  it('fails with provider errors: bad weight, nothing deployed, injected failures', async () => {
    const h = createSimHarness({
      services: { web: { version: 'v1' } },
      failures: [
        { kind: 'api-errors', operation: 'get-weight', count: 1 },
        { kind: 'compensation-fails', operation: 'finalize' },
      ],
    });
    const router = create({ type: 'sim' }, h.deps);
    await expect(router.setWeights({ canary: 150 }, h.ctx())).rejects.toThrow(ProviderError);
    await expect(router.setWeights({ canary: 5 }, h.ctx('api'))).rejects.toThrow('nothing is deployed');
    await expect(router.getWeights(h.ctx())).rejects.toThrow('(503) on get-weight of web');
    await expect(router.finalize(h.ctx())).rejects.toThrow('finalize of web failed (injected compensation failure)');
  });
});
