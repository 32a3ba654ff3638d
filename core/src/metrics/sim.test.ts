import { describe, expect, it } from 'vitest';
import { NoDataError, ProviderError } from '../errors.js';
import { createSimHarness } from '../sim/harness.js';
import { metricProviders } from './index.js';
import { configSchema, create, parseQuery, type } from './sim.js';

describe('sim metric provider', () => {
  it('is registered and parses its config', () => {
    expect(metricProviders.sim.type).toBe(type);
    expect(configSchema.parse({ type: 'sim' })).toEqual({ type: 'sim' });
    expect(() => configSchema.parse({ type: 'sim', service: '' })).toThrow();
  });

  it('parses queries with an optional service', () => {
    expect(parseQuery('error-rate')).toEqual({ metric: 'error-rate' });
    expect(parseQuery(' latency-p99 : api ')).toEqual({ metric: 'latency-p99', service: 'api' });
    expect(() => parseQuery('cpu')).toThrow(
      'sim: unknown metric query "cpu": use error-rate, latency-p99, request-rate, ready-replicas, optionally followed by :SERVICE (error-rate:web)',
    );
    expect(() => parseQuery('error-rate:')).toThrow(ProviderError);
  });

  it('measures the traffic split of the stage service, or the one named', async () => {
    const h = createSimHarness({
      services: { web: { version: 'v1' }, api: { version: 'a1', replicas: 3 } },
      versions: { v2: { errorRate: 0.2, latencyMs: 300 } },
    });
    const metrics = create({ type: 'sim' }, h.deps);
    expect(metrics.type).toBe('sim');
    const ctx = h.ctx('web');
    const before = await metrics.query('error-rate', ctx);
    expect(before).toBeGreaterThan(0.001 * 0.97);
    expect(before).toBeLessThan(0.001 * 1.03);
    h.world.deploy('web', 'v2');
    h.world.setWeight('web', 25);
    const canary = await metrics.query('error-rate', ctx);
    expect(canary).toBeGreaterThan((0.75 * 0.001 + 0.25 * 0.2) * 0.97);
    expect(canary).toBeLessThan((0.75 * 0.001 + 0.25 * 0.2) * 1.03);
    expect(await metrics.query('latency-p99', ctx)).toBeGreaterThan(200);
    expect(await metrics.query('request-rate:api', ctx)).toBeCloseTo(30, -1);
    expect(await metrics.query('ready-replicas:api', ctx)).toBe(3);
    const fixed = create({ type: 'sim', service: 'api' }, h.deps);
    expect(await fixed.query('ready-replicas', ctx)).toBe(3);
  });

  it('throws NoDataError when nothing is deployed or nothing serves', async () => {
    const h = createSimHarness({ nodes: 2, services: { web: { version: 'v1', replicas: 1 } } });
    const metrics = create({ type: 'sim' }, h.deps);
    const missing = await metrics.query('error-rate:api', h.ctx()).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NoDataError);
    expect((missing as Error).message).toBe('sim: no data for error-rate of api: nothing is deployed (check the service name)');
    await expect(metrics.query('ready-replicas:api', h.ctx())).rejects.toThrow(NoDataError);
    h.world.crashNodes(['node-1']);
    await expect(metrics.query('latency-p99', h.ctx())).rejects.toThrow(
      'sim: no data for latency-p99 of web: none of its replicas is on a ready node, so it serves no traffic',
    );
    expect(await metrics.query('ready-replicas', h.ctx())).toBe(0);
  });

  it('passes injected metric failures through as retryable provider errors', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1' } }, failures: [{ kind: 'partition', duration: '1m' }] });
    const metrics = create({ type: 'sim' }, h.deps);
    const err = (await metrics.query('error-rate', h.ctx()).then(undefined, (e: unknown) => e)) as ProviderError;
    expect(err.message).toContain('network partition');
    expect(err.retryable).toBe(true);
    h.clock.advance(60_000);
    expect(await metrics.query('error-rate', h.ctx())).toBeGreaterThan(0);
  });
});
