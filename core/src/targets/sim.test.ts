import { describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { createSimHarness } from '../sim/harness.js';
import { configSchema, create, type } from './sim.js';

describe('sim target', () => {
  it('parses its config', () => {
    expect(configSchema.parse({ type: 'sim' })).toEqual({ type: 'sim' });
    expect(() => configSchema.parse({ type: 'sim', replicas: 0 })).toThrow();
    expect(type).toBe('sim');
  });

  it('reports nothing deployed, then deploys taking the startup time on the clock', async () => {
    const h = createSimHarness({ versions: { v1: { startup: '45s' } } });
    const target = create({ type: 'sim' }, h.deps);
    expect(target.type).toBe('sim');
    const ctx = h.ctx('web');
    expect(await target.current(ctx)).toBeUndefined();
    const started = h.clock.now();
    await target.deploy('v1', ctx);
    expect(h.clock.now() - started).toBe(45_000);
    expect(await target.current(ctx)).toEqual({ version: 'v1', details: { replicas: 5 } });
    expect(h.changes).toEqual([{ object: 'service/web', field: 'version', before: null, after: 'v1' }]);
    expect(h.logs).toEqual(['sim: web v1 starting (45s)']);
    expect(await target.health(ctx)).toEqual({ healthy: true, ready: 5, total: 5, message: 'v1 is ready' });
  });

  it('is idempotent: the same version changes nothing and takes no time', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1' } } });
    const target = create({ type: 'sim' }, h.deps);
    const started = h.clock.now();
    await target.deploy('v1', h.ctx());
    expect(h.clock.now()).toBe(started);
    expect(h.changes).toEqual([]);
  });

  it('uses the configured service and replicas instead of the stage name', async () => {
    const h = createSimHarness({ services: { api: { version: 'a1' } } });
    const target = create({ type: 'sim', service: 'api', replicas: 2 }, h.deps);
    await target.deploy('a2', h.ctx('deploy-api'));
    expect(h.world.service('api')).toMatchObject({ version: 'a2', replicas: 2 });
    expect(h.changes).toEqual([
      { object: 'service/api', field: 'version', before: 'a1', after: 'a2' },
      { object: 'service/api', field: 'replicas', before: 5, after: 2 },
    ]);
  });

  it('fails with a clear provider error when capacity is short', async () => {
    const h = createSimHarness({ versions: { v2: { cpu: 2 } }, services: { other: { version: 'o1', replicas: 16 }, web: { version: 'v1', replicas: 0 } } });
    const target = create({ type: 'sim', replicas: 5 }, h.deps);
    const err = await target.deploy('v2', h.ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toContain('sim: not enough capacity for web v2: needs 10 units, 4 free');
    expect((err as ProviderError).retryable).toBe(false);
    expect(h.changes).toEqual([]);
  });

  it('is unhealthy when the version fails requests or replicas sit on crashed nodes', async () => {
    const h = createSimHarness({
      services: { web: { version: 'v1' } },
      failures: [{ kind: 'bad-version', version: 'v2' }, { kind: 'node-crash', at: '1h' }],
    });
    const target = create({ type: 'sim' }, h.deps);
    await target.deploy('v2', h.ctx());
    expect(await target.health(h.ctx())).toEqual({ healthy: false, ready: 5, total: 5, message: 'readiness failing: 25% of requests fail' });
    await target.revert({ version: 'v1', details: { replicas: 5 } }, h.ctx());
    await h.clock.sleep(3_600_000);
    expect(await target.health(h.ctx())).toMatchObject({ healthy: false, ready: 4, total: 5 });
  });

  it('reverts to the previous version, or removes a first deploy (previous undefined or null)', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1', replicas: 3 } } });
    const target = create({ type: 'sim' }, h.deps);
    const previous = await target.current(h.ctx());
    await target.deploy('v2', h.ctx());
    await target.revert(previous, h.ctx());
    expect(await target.current(h.ctx())).toEqual({ version: 'v1', details: { replicas: 3 } });
    await target.revert(previous, h.ctx()); // idempotent
    await target.revert({ version: 'v1', details: { replicas: 'three' } }, h.ctx()); // odd details are ignored
    expect(h.world.service('web')?.replicas).toBe(3);
    await target.revert(null as never, h.ctx());
    expect(await target.current(h.ctx())).toBeUndefined();
    await target.revert(undefined, h.ctx());
    expect(h.changes.map((c) => `${c.field}:${String(c.before)}->${String(c.after)}`)).toEqual([
      'version:v1->v2',
      'version:v2->v1',
      'version:v1->null',
    ]);
  });

  it('honours the step signal while a deploy starts up', async () => {
    const h = createSimHarness();
    const target = create({ type: 'sim' }, h.deps);
    const controller = new AbortController();
    h.clock.setTimer(3000, () => controller.abort(new Error('step deadline')));
    await expect(target.deploy('v1', h.ctx('web', { signal: controller.signal }))).rejects.toThrow('step deadline');
    // The rollout began: the change is recorded and revert can undo it.
    expect(h.changes).toHaveLength(1);
    expect(h.world.service('web')?.readyAt).toBe(10_000);
    await target.revert(undefined, h.ctx());
    expect(h.world.service('web')).toBeUndefined();
  });

  it('passes injected api errors, partitions and compensation failures through', async () => {
    const h = createSimHarness({
      services: { web: { version: 'v1' } },
      failures: [
        { kind: 'api-errors', operation: 'deploy', count: 1, status: 429 },
        { kind: 'api-errors', operation: 'current', count: 1 },
        { kind: 'api-errors', operation: 'health', count: 1, status: 500 },
        { kind: 'compensation-fails', operation: 'revert', count: 1 },
      ],
    });
    const target = create({ type: 'sim' }, h.deps);
    await expect(target.deploy('v2', h.ctx())).rejects.toThrow('sim: rate limited (429) on deploy of web');
    await expect(target.current(h.ctx())).rejects.toThrow('(503) on current');
    await expect(target.health(h.ctx())).rejects.toThrow('(500) on health');
    await target.deploy('v2', h.ctx());
    const err = (await target.revert({ version: 'v1' }, h.ctx()).then(undefined, (e: unknown) => e)) as ProviderError;
    expect(err.retryable).toBe(false);
    await target.revert({ version: 'v1' }, h.ctx());
    expect(h.world.service('web')?.version).toBe('v1');
  });
});
