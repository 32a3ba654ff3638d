import { describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import type { CandidateTarget, FleetTarget } from '../ports/target.js';
import { createSimHarness } from '../testing/sim-harness.js';
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

describe('sim target: candidates (canary, blue-green)', () => {
  it('knows the full scale: the stable count, else the configured replicas, else one per node', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1', replicas: 3 } } });
    const candidates = create({ type: 'sim' }, h.deps).candidates as CandidateTarget;
    expect(await candidates.fullScale(h.ctx())).toBe(3);
    expect(await candidates.fullScale(h.ctx('api'))).toBe(5);
    expect(await create({ type: 'sim', replicas: 2 }, h.deps).candidates?.fullScale(h.ctx('api'))).toBe(2);
  });

  it('runs a canary beside stable, then promotes it; current() shows both while they run', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1' } }, versions: { v2: { startup: '30s' } } });
    const target = create({ type: 'sim' }, h.deps);
    const candidates = target.candidates as CandidateTarget;
    const ctx = h.ctx();
    const started = h.clock.now();
    await candidates.deployCandidate('v2', 1, ctx);
    expect(h.clock.now() - started).toBe(30_000);
    expect(h.logs).toEqual(['sim: web candidate v2 starting (30s)']);
    expect(await target.current(ctx)).toEqual({ version: 'v1', details: { replicas: 5, candidate: { version: 'v2', replicas: 1 } } });
    expect(await candidates.candidateHealth(ctx)).toEqual({ healthy: true, ready: 1, total: 1, message: 'v2 is ready' });
    await candidates.scale({ stable: 3, candidate: 2 }, ctx);
    expect(h.world.traffic('web').map((s) => s.share)).toEqual([0.6, 0.4]);
    await candidates.promote(ctx);
    await candidates.promote(ctx); // idempotent
    expect(await target.current(ctx)).toEqual({ version: 'v2', details: { replicas: 5 } });
    expect(await target.health(ctx)).toMatchObject({ healthy: true, ready: 5 });
    expect(h.changes.map((c) => `${c.field}:${String(c.before)}->${String(c.after)}`)).toEqual([
      'candidate:null->v2',
      'candidate-replicas:0->1',
      'replicas:5->3',
      'candidate-replicas:1->2',
      'version:v1->v2',
      'replicas:3->5',
      'candidate:v2->null',
    ]);
  });

  it('refuses a full-scale blue-green candidate without room, as a non-retryable provider error', async () => {
    const h = createSimHarness({ versions: { v1: { cpu: 2 }, v2: { cpu: 4 } }, services: { web: { version: 'v1' }, other: { version: 'o1', replicas: 6 } } });
    const candidates = create({ type: 'sim' }, h.deps).candidates as CandidateTarget;
    const full = await candidates.fullScale(h.ctx());
    const err = (await candidates.deployCandidate('v2', full, h.ctx()).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe('sim: not enough capacity for web v2 beside v1: needs 20 units, 4 free; add nodes, lower the candidate replicas or free capacity');
    expect(err.retryable).toBe(false);
    expect(h.changes).toEqual([]);
  });

  it('removes the candidate on rollback, idempotently, even on a first deploy', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2' }] });
    const target = create({ type: 'sim' }, h.deps);
    const candidates = target.candidates as CandidateTarget;
    await candidates.deployCandidate('v2', 5, h.ctx());
    expect((await candidates.candidateHealth(h.ctx())).message).toBe('readiness failing: 25% of requests fail');
    await candidates.removeCandidate(h.ctx());
    await candidates.removeCandidate(h.ctx());
    expect(await target.current(h.ctx())).toEqual({ version: 'v1', details: { replicas: 5 } });
    await candidates.deployCandidate('a1', 1, h.ctx('api'));
    expect(await target.current(h.ctx('api'))).toBeUndefined();
    await candidates.removeCandidate(h.ctx('api'));
    expect(h.world.service('api')).toBeUndefined();
  });

  it('honours the step signal while a candidate starts', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1' } } });
    const candidates = create({ type: 'sim' }, h.deps).candidates as CandidateTarget;
    const controller = new AbortController();
    h.clock.setTimer(3000, () => controller.abort(new Error('step deadline')));
    await expect(candidates.deployCandidate('v2', 2, h.ctx('web', { signal: controller.signal }))).rejects.toThrow('step deadline');
    expect(h.world.service('web')?.candidate?.version).toBe('v2');
  });

  it('passes injected failures through: api errors, partitions, compensation failures on remove-candidate', async () => {
    const h = createSimHarness({
      services: { web: { version: 'v1' } },
      failures: [
        { kind: 'api-errors', operation: 'deploy-candidate', count: 1, status: 429 },
        { kind: 'api-errors', operation: 'candidate-health', count: 1 },
        { kind: 'compensation-fails', operation: 'remove-candidate', count: 1 },
        { kind: 'partition', at: '1h', duration: '1m' },
      ],
    });
    const candidates = create({ type: 'sim' }, h.deps).candidates as CandidateTarget;
    await expect(candidates.deployCandidate('v2', 1, h.ctx())).rejects.toThrow('sim: rate limited (429) on deploy-candidate of web');
    await expect(candidates.candidateHealth(h.ctx())).rejects.toThrow('(503) on candidate-health of web');
    await candidates.deployCandidate('v2', 1, h.ctx());
    const err = (await candidates.removeCandidate(h.ctx()).catch((e: unknown) => e)) as ProviderError;
    expect(err.message).toBe('sim: remove-candidate of web failed (injected compensation failure); undo it by hand');
    await h.clock.sleep(3_600_000);
    await expect(candidates.promote(h.ctx())).rejects.toThrow('network partition');
    await expect(candidates.scale({ stable: 5, candidate: 0 }, h.ctx())).rejects.toThrow('network partition');
  });
});

describe('sim target: fleet (progressive)', () => {
  it('deploys unit by unit, waiting for each, and reverts a unit', async () => {
    const h = createSimHarness({ nodes: 3, services: { web: { version: 'v1' } }, versions: { v2: { startup: '15s' } } });
    const fleet = create({ type: 'sim' }, h.deps).fleet as FleetTarget;
    const ctx = h.ctx();
    expect(await fleet.units(ctx)).toEqual(['node-1', 'node-2', 'node-3']);
    const started = h.clock.now();
    await fleet.deployUnit('node-1', 'v2', ctx);
    expect(h.clock.now() - started).toBe(15_000);
    await fleet.deployUnit('node-1', 'v2', ctx); // idempotent, no wait
    expect(h.clock.now() - started).toBe(15_000);
    expect(await fleet.unitVersion('node-1', ctx)).toBe('v2');
    expect(await fleet.unitHealth('node-1', ctx)).toEqual({ healthy: true, ready: 1, total: 1, message: 'v2 is ready on node-1' });
    await fleet.revertUnit('node-1', 'v1', ctx);
    await fleet.revertUnit('node-2', undefined, ctx);
    expect(await fleet.unitVersion('node-2', ctx)).toBeUndefined();
    expect(h.changes).toEqual([
      { object: 'node/node-1', field: 'version', before: 'v1', after: 'v2' },
      { object: 'node/node-1', field: 'version', before: 'v2', after: 'v1' },
      { object: 'node/node-2', field: 'version', before: 'v1', after: null },
    ]);
    expect(h.logs).toEqual([]);
    await expect(fleet.deployUnit('node-9', 'v2', ctx)).rejects.toThrow('sim: node-9 is not a unit of web: its units are the nodes node-1..node-3');
  });

  it('a crashed node makes its unit unhealthy; injected failures hit unit operations', async () => {
    const h = createSimHarness({
      nodes: 8,
      services: { web: { version: 'v1' } },
      failures: [
        { kind: 'node-crash', node: 'node-7', at: '1m' },
        { kind: 'api-errors', operation: 'unit-health', count: 1, status: 500 },
        { kind: 'compensation-fails', operation: 'revert-unit' },
      ],
    });
    const fleet = create({ type: 'sim' }, h.deps).fleet as FleetTarget;
    await fleet.deployUnit('node-7', 'v2', h.ctx());
    await expect(fleet.unitHealth('node-7', h.ctx())).rejects.toThrow('sim: internal server error (500) on unit-health of web on node-7; retry later');
    expect((await fleet.unitHealth('node-7', h.ctx())).healthy).toBe(true);
    await h.clock.sleep(60_000);
    expect(await fleet.unitHealth('node-7', h.ctx())).toEqual({ healthy: false, ready: 0, total: 1, message: 'node-7 is down' });
    await expect(fleet.revertUnit('node-7', 'v1', h.ctx())).rejects.toThrow('revert-unit of web on node-7 failed (injected compensation failure)');
  });

  it('rolls a 10,000-node fleet out unit by unit on the virtual clock', async () => {
    const h = createSimHarness({ nodes: 10_000, services: { web: { version: 'v1' } } });
    const fleet = create({ type: 'sim' }, h.deps).fleet as FleetTarget;
    const ctx = h.ctx();
    const units = await fleet.units(ctx);
    let next = 0;
    let unhealthy = 0;
    // 50 at a time, like a progressive rollout's maxParallel.
    const worker = async () => {
      while (next < units.length) {
        const unit = units[next++] as string;
        await fleet.deployUnit(unit, 'v2', ctx);
        if (!(await fleet.unitHealth(unit, ctx)).healthy) unhealthy++;
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    expect(unhealthy).toBe(0);
    expect(h.changes).toHaveLength(10_000);
    // 200 rounds of 10 s startups.
    expect(h.world.elapsed()).toBe(2_000_000);
    expect(await create({ type: 'sim' }, h.deps).current(ctx)).toEqual({ version: 'v2', details: { replicas: 10_000 } });
    expect(h.world.toJSON().fleets).toEqual({});
  });
});
