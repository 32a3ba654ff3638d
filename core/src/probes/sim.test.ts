import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createSimHarness } from '../testing/sim-harness.js';
import { configSchema, create, type SimProbeConfig } from './sim.js';

const probe = (measure: SimProbeConfig['measure'], extra: Partial<z.input<typeof configSchema>> = {}): SimProbeConfig =>
  configSchema.parse({ type: 'sim', measure, ...extra });

describe('sim probe', () => {
  it('measures capacity, nodes, versions, error rate and latency', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1' } }, versions: { v1: { latencyMs: 120 } } });
    const ctx = h.ctx('web');
    const check = (p: SimProbeConfig) => create(p, h.deps).check(ctx);
    expect(create(probe('version'), h.deps).type).toBe('sim');
    expect(await check(probe('free-capacity'))).toEqual({ ok: true, value: 15, latencyMs: 0, details: { total: 20, used: 5 } });
    expect(await check(probe('nodes-ready'))).toEqual({ ok: true, value: 5, latencyMs: 0, details: { total: 5, down: 0 } });
    expect(await check(probe('version'))).toEqual({
      ok: true,
      value: 'v1',
      latencyMs: 0,
      details: { service: 'web', replicas: 5, candidate: null, candidateReplicas: 0, canaryWeight: 0 },
    });
    expect(await check(probe('candidate-version'))).toMatchObject({ ok: true, value: null });
    h.world.deployCandidate('web', 'v2', 2);
    h.world.setWeight('web', 10);
    expect(await check(probe('candidate-version'))).toEqual({
      ok: true,
      value: 'v2',
      latencyMs: 0,
      details: { service: 'web', replicas: 5, candidate: 'v2', candidateReplicas: 2, canaryWeight: 10 },
    });
    expect((await check(probe('version'))).value).toBe('v1');
    h.world.removeCandidate('web');
    expect(await check(probe('version', { service: 'api' }))).toMatchObject({ ok: true, value: null, details: { replicas: 0 } });
    const rate = await check(probe('error-rate'));
    expect(rate.ok).toBe(true);
    expect(rate.value as number).toBeCloseTo(0.001, 4);
    const latency = await check(probe('latency-p99'));
    expect(latency.value as number).toBeGreaterThan(115);
    expect(await check(probe('error-rate', { service: 'api' }))).toEqual({
      ok: false,
      value: null,
      latencyMs: 0,
      error: 'sim: api serves no traffic (nothing deployed or every replica down)',
      details: { service: 'api' },
    });
  });

  it('reports crashed nodes as not ok, with their names', async () => {
    const h = createSimHarness({ nodes: 8, failures: [{ kind: 'node-crash', count: 6 }] });
    const result = await create(probe('nodes-ready'), h.deps).check(h.ctx());
    expect(result).toEqual({
      ok: false,
      value: 2,
      latencyMs: 0,
      error: '6 of 8 nodes not ready: node-3, node-4, node-5, node-6, node-7, …',
      details: { total: 8, down: 6 },
    });
    h.world.recoverNodes(['node-3', 'node-4']);
    expect((await create(probe('nodes-ready'), h.deps).check(h.ctx())).error).toBe('4 of 8 nodes not ready: node-5, node-6, node-7, node-8');
    expect((await create(probe('free-capacity'), h.deps).check(h.ctx())).value).toBe(16);
  });

  it('reads the database and its schema version', async () => {
    const h = createSimHarness({ database: { schemaVersion: 4 }, failures: [{ kind: 'database-down', at: '2m' }] });
    const db = create(probe('database'), h.deps);
    const schema = create(probe('schema-version'), h.deps);
    expect(await db.check(h.ctx())).toEqual({ ok: true, value: 'up', latencyMs: 0, details: { schemaVersion: 4 } });
    expect(await schema.check(h.ctx())).toEqual({ ok: true, value: 4, latencyMs: 0 });
    h.clock.advance(120_000);
    expect(await db.check(h.ctx())).toEqual({ ok: false, value: 'down', latencyMs: 0, error: 'sim: database is down', details: { schemaVersion: 4 } });
    expect(await schema.check(h.ctx())).toEqual({
      ok: false,
      value: null,
      latencyMs: 0,
      error: 'sim: database is down: cannot read the schema version',
    });
  });

  it('turns injected api errors and partitions into failed results, never throwing', async () => {
    const h = createSimHarness({ failures: [{ kind: 'api-errors', operation: 'probe', count: 1, status: 429 }] });
    const p = create(probe('free-capacity'), h.deps);
    expect(await p.check(h.ctx())).toEqual({
      ok: false,
      value: null,
      latencyMs: 0,
      error: 'sim: rate limited (429) on probe of free-capacity; retry later',
    });
    expect((await p.check(h.ctx())).ok).toBe(true);
  });

  it('is slow when told, and times out at its own timeout', async () => {
    const h = createSimHarness({
      failures: [
        { kind: 'slow-probe', probe: 'capacity', delay: '1500ms' },
        { kind: 'slow-probe', probe: 'database', delay: '1m' },
      ],
    });
    const slow = await create(probe('free-capacity'), h.deps).check(h.ctx('web', { step: 'capacity' }));
    expect(slow).toMatchObject({ ok: true, value: 20, latencyMs: 1500 });
    const fast = await create(probe('free-capacity'), h.deps).check(h.ctx('web', { step: 'other' }));
    expect(fast.latencyMs).toBe(0);
    const hung = await create(probe('database', { timeout: '3s' }), h.deps).check(h.ctx());
    expect(hung).toEqual({ ok: false, value: null, latencyMs: 3000, error: 'sim: probe database timed out after 3000ms' });
  });

  it('returns promptly when the signal aborts during a delay longer than the timeout', async () => {
    const h = createSimHarness({ failures: [{ kind: 'slow-probe', delay: '10m' }] });
    const controller = new AbortController();
    h.clock.setTimer(2000, () => controller.abort(new Error('snapshot deadline')));
    const result = await create(probe('nodes-ready', { timeout: '5m' }), h.deps).check(h.ctx('web', { signal: controller.signal }));
    expect(result).toMatchObject({ ok: false, value: null, latencyMs: 2000, error: 'sim: probe nodes-ready stopped: snapshot deadline' });
  });

  it('reports a world that cannot be built as a failed result', async () => {
    const h = createSimHarness();
    const deps = {
      ...h.deps,
      shared: () => ({
        ...h.deps.state,
        live: () => {
          throw new Error('invalid simulation');
        },
      }),
    };
    expect(await create(probe('version'), deps).check(h.ctx())).toEqual({ ok: false, value: null, latencyMs: 0, error: 'invalid simulation' });
  });
});
