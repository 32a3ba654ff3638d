import { describe, expect, it } from 'vitest';
import { NoDataError, ProviderError } from '../errors.js';
import { createSimHarness } from '../testing/sim-harness.js';
import { metricProviders } from './index.js';
import { configSchema, create, METRICS, parseQuery, type } from './sim.js';

/** Within the ±2.5 % measurement noise of `expected`. */
function near(value: number, expected: number) {
  expect(value).toBeGreaterThanOrEqual(expected * 0.975);
  expect(value).toBeLessThanOrEqual(expected * 1.025);
}

describe('sim metric provider', () => {
  it('is registered and parses its config', () => {
    expect(metricProviders.sim.type).toBe(type);
    expect(configSchema.parse({ type: 'sim' })).toEqual({ type: 'sim' });
    expect(() => configSchema.parse({ type: 'sim', service: '' })).toThrow();
  });

  it('parses queries with an optional service', () => {
    expect(parseQuery('error-rate')).toEqual({ metric: 'error-rate' });
    expect(parseQuery(' candidate-latency-p99 : api ')).toEqual({ metric: 'candidate-latency-p99', service: 'api' });
    expect(() => parseQuery('cpu')).toThrow(`sim: unknown metric query "cpu": use ${METRICS.join(', ')}, optionally followed by :SERVICE (error-rate:web)`);
    expect(() => parseQuery('error-rate:')).toThrow(ProviderError);
  });

  it('measures the traffic mix and each side of it, for the stage service or the one named', async () => {
    const h = createSimHarness({
      services: { web: { version: 'v1' }, api: { version: 'a1', replicas: 3 } },
      versions: { v2: { errorRate: 0.2, latencyMs: 300 } },
    });
    const metrics = create({ type: 'sim' }, h.deps);
    expect(metrics.type).toBe('sim');
    const ctx = h.ctx('web');
    near(await metrics.query('error-rate', ctx), 0.001);
    h.world.deployCandidate('web', 'v2', 1);
    h.clock.advance(10_000);
    h.world.setWeight('web', 25);
    near(await metrics.query('error-rate', ctx), 0.75 * 0.001 + 0.25 * 0.2);
    near(await metrics.query('candidate-error-rate', ctx), 0.2);
    near(await metrics.query('stable-error-rate', ctx), 0.001);
    expect(await metrics.query('latency-p99', ctx)).toBeGreaterThan(200);
    near(await metrics.query('candidate-latency-p99', ctx), 300);
    near(await metrics.query('request-rate', ctx), 60);
    expect(await metrics.query('ready-replicas', ctx)).toBe(5);
    expect(await metrics.query('candidate-ready-replicas', ctx)).toBe(1);
    near(await metrics.query('request-rate:api', ctx), 30);
    expect(await metrics.query('ready-replicas:api', ctx)).toBe(3);
    const fixed = create({ type: 'sim', service: 'api' }, h.deps);
    expect(await fixed.query('ready-replicas', ctx)).toBe(3);
  });

  it('keeps readings reproducible: same seed and second, same value', async () => {
    const run = async () => {
      const h = createSimHarness({ seed: 3, services: { web: { version: 'v1' } } });
      h.clock.advance(42_000);
      return create({ type: 'sim' }, h.deps).query('latency-p99', h.ctx());
    };
    expect(await run()).toBe(await run());
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
      'sim: no data for latency-p99 of web: none of its replicas is ready (still starting, or on crashed nodes), so it serves no traffic',
    );
    expect(await metrics.query('ready-replicas', h.ctx())).toBe(0);
  });

  it('says why a candidate or the stable version has no data', async () => {
    const h = createSimHarness({ services: { web: { version: 'v1' } } });
    const metrics = create({ type: 'sim' }, h.deps);
    const reason = async (query: string) => {
      const err = await metrics.query(query, h.ctx()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoDataError);
      return (err as Error).message.replace(/^sim: no data for [a-z0-9-]+ of web: /, '');
    };
    expect(await reason('candidate-error-rate')).toBe('no candidate is running (deploy one first)');
    expect(await reason('candidate-ready-replicas')).toBe('no candidate is running (deploy one first)');
    h.world.deployCandidate('web', 'v2', 1);
    expect(await reason('candidate-latency-p99')).toBe('the candidate v2 receives no traffic: none of its replicas is ready');
    expect(await metrics.query('candidate-ready-replicas', h.ctx())).toBe(0);
    h.clock.advance(10_000);
    // Ready but without user traffic, the candidate is measured on its preview route.
    expect(await metrics.query('candidate-error-rate', h.ctx())).toBeGreaterThan(0);
    h.world.setWeight('web', 0);
    expect(await metrics.query('candidate-error-rate', h.ctx())).toBeGreaterThan(0);
    h.world.finalize('web');
    h.world.setWeight('web', 100);
    expect(await reason('stable-error-rate')).toBe('the stable version v1 receives no traffic: the router sends everything to the candidate');
    h.world.scale('web', { stable: 0, candidate: 1 });
    expect(await reason('stable-error-rate')).toBe('the stable version v1 receives no traffic: none of its replicas is ready');
    h.world.removeCandidate('web');
    h.world.crashNodes([1, 2, 3, 4, 5]);
    expect(await reason('stable-error-rate')).toBe('the stable version serves no traffic');
    const first = createSimHarness();
    first.world.deployCandidate('web', 'v1', 1);
    await expect(create({ type: 'sim' }, first.deps).query('stable-error-rate', first.ctx())).rejects.toThrow(
      'sim: no data for stable-error-rate of web: there is no stable version yet (a first deploy)',
    );
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
