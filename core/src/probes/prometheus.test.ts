import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../tests/real/app-server.js';
import { errorRateQuery, type Gateway, type ScrapedApps, sendTraffic, startGateway, startScrapedApps } from '../../../tests/real/servers/prometheus.js';
import { createRealClock } from '../clocks/real.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { loadTestWorkflow, runTestWorkflow } from '../testing/workflows.js';
import { probes } from './index.js';
import { configSchema, create, type } from './prometheus.js';

/* The prometheus probe against a real Prometheus scraping two real app servers (v1 and idle). */

let s: ScrapedApps;
let gateway: Gateway;
beforeAll(async () => {
  s = await startScrapedApps();
  gateway = await startGateway(s.prometheus.url);
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([gateway?.close(), s?.stop()]);
});

const probe = (query: string, input: Record<string, unknown> = {}) =>
  create(configSchema.parse({ type: 'prometheus', url: s.prometheus.url, query, ...input }), fakeDeps());
const check = (query: string, input: Record<string, unknown> = {}, signal?: AbortSignal) => probe(query, input).check(fakeStepContext(signal ? { signal } : {}));

describe('prometheus probe', () => {
  it('is registered, with a probe-sized timeout', () => {
    expect(probes.prometheus.type).toBe(type);
    expect(configSchema.parse({ type, url: 'http://p:9090', query: 'up' })).toEqual({ type, url: 'http://p:9090', query: 'up', method: 'POST', timeout: 2000 });
    expect(configSchema.safeParse({ type, url: 'http://p:9090' }).success).toBe(false);
  });

  it("reports the query's value", async () => {
    const result = await check('sum(app_up)');
    expect(result).toMatchObject({ ok: true, value: 2, details: { noData: false } });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('reports an error rate that changes when the app fails', async () => {
    const traffic = sendTraffic([s.v1.url]);
    try {
      s.v1.set({ failRate: 1 });
      await s.prometheus.waitFor(errorRateQuery('v1'), (r) => Number(r[0]?.value[1]) > 0.5);
      const result = await check(errorRateQuery('v1'));
      expect(result.ok).toBe(true);
      expect(result.value).toBeGreaterThan(0.5);
    } finally {
      s.v1.set({ failRate: 0 });
      await traffic.stop();
    }
  }, 40_000);

  it('no data, several series and NaN are ok: false with the reason, never thrown', async () => {
    const empty = await check('app_up{version="v9"}');
    expect(empty).toMatchObject({ ok: false, value: null, details: { noData: true } });
    expect(empty.error).toMatch(/^prometheus: no data: query "app_up\{version=\\"v9\\"\}" returned an empty vector/);
    const several = await check('app_up');
    expect(several).toMatchObject({ ok: false, value: null, details: { noData: false } });
    expect(several.error).toContain('returned 2 series');
    const nan = await check('sum(app_up) * 0 / 0');
    expect(nan.ok).toBe(false);
    expect(nan.error).toContain('returned NaN');
    const bad = await check('sum(');
    expect(bad.error).toMatch(/^prometheus: query "sum\(" failed: 400 Bad Request, bad_data: invalid parameter "query": .*parse error/);
  });

  it('Prometheus down or silent: ok: false, within its timeout or the snapshot deadline', async () => {
    const port = await freePort();
    const down = await check('sum(app_up)', { url: `http://127.0.0.1:${port}` });
    expect(down).toMatchObject({ ok: false, value: null });
    expect(down.error).toBe(`prometheus: request to http://127.0.0.1:${port}/api/v1/query failed: connection refused (nothing listens there: is it running, and is the port right?)`);
    s.prometheus.pause();
    try {
      const silent = await check('sum(app_up)', { timeout: '200ms' });
      expect(silent.error).toBe(`prometheus: no answer from ${s.prometheus.url}/api/v1/query within 200ms (timeout); is it overloaded, or is the timeout too short?`);
    } finally {
      s.prometheus.resume();
    }
    const controller = new AbortController();
    gateway.holdNext(() => controller.abort(new Error('snapshot deadline')));
    const held = await check('sum(app_up)', { url: gateway.url, timeout: '10m' }, controller.signal);
    expect(held).toMatchObject({ ok: false, value: null, error: `prometheus: cancelled while requesting ${gateway.url}/api/v1/query` });
  });

  it('gates a stage in a workflow through a condition on its value', async () => {
    const loaded = loadTestWorkflow({
      probes: { apps: { type: 'prometheus', url: s.prometheus.url, query: 'sum(app_up)' }, missing: { type: 'prometheus', url: s.prometheus.url, query: 'app_up{version="v9"}' } },
      stages: [
        { name: 'deploy', environment: 'staging', when: 'probes.apps.ok && probes.apps.value >= 2', target: { type: 'command', deploy: ['true'] } },
        { name: 'never', environment: 'staging', when: 'probes.missing.ok', target: { type: 'command', deploy: ['true'] } },
        { name: 'no-sample-yet', environment: 'staging', when: 'probes.missing.noData && !probes.apps.noData', target: { type: 'command', deploy: ['true'] } },
      ],
    });
    // Real probes need the real clock: on a virtual one the snapshot's timeout passes while they wait.
    const { outcome, events } = await runTestWorkflow(loaded, { clock: createRealClock() });
    const snapshots = events.flatMap((e) => (e.kind === 'probes.measured' ? [e.snapshot] : []));
    expect(snapshots).toContainEqual({ apps: expect.objectContaining({ ok: true, value: 2, details: { noData: false } }) });
    expect(snapshots).toContainEqual({ missing: expect.objectContaining({ ok: false, value: null, details: { noData: true } }) });
    expect(events.filter((e) => e.kind === 'stage.skipped').map((e) => (e as { stage: string }).stage)).toEqual(['never']);
    const finished = events.flatMap((e) => (e.kind === 'stage.finished' ? [`${e.stage}: ${e.status}`] : []));
    expect(finished.sort()).toEqual(['deploy: succeeded', 'never: skipped', 'no-sample-yet: succeeded']);
    expect(outcome.exitCode).toBe(0);
  });
});
