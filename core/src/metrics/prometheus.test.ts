import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorRateQuery, type ScrapedApps, sendTraffic, startScrapedApps } from '../../../tests/real/servers/prometheus.js';
import { createRealClock } from '../clocks/real.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { NoDataError, ProviderError } from '../errors.js';
import { describeEvent } from '../notifiers/describe.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { loadTestWorkflow, runTestWorkflow } from '../testing/workflows.js';
import { metricProviders } from './index.js';
import { configSchema, create, type } from './prometheus.js';

/*
 * The prometheus metric against a real Prometheus that scrapes two real app servers every second:
 * v1, which gets traffic, and idle, which gets none. Connection failures, timeouts and credentials
 * are in prometheus-connection.test.ts.
 */

let s: ScrapedApps;
beforeAll(async () => {
  s = await startScrapedApps();
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

const metric = (input: Record<string, unknown> = {}) => create(configSchema.parse({ type: 'prometheus', url: s.prometheus.url, ...input }), fakeDeps());
const ctx = () => fakeStepContext();

/** Queries until `ok(value)`, within `timeoutMs`: scrapes land every second. */
async function eventually(query: string, ok: (value: number) => boolean, timeoutMs = 30_000): Promise<number> {
  const provider = metric();
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await provider.query(query, ctx());
      if (ok(value)) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${query} did not reach the expected value within ${timeoutMs}ms; last: ${String(last)}`);
}

describe('prometheus metric provider', () => {
  it('is registered, with defaults and checked credentials', () => {
    expect(metricProviders.prometheus.type).toBe(type);
    expect(configSchema.parse({ type, url: 'http://prometheus:9090' })).toEqual({ type, url: 'http://prometheus:9090', method: 'POST', timeout: 10_000 });
    const issues = (input: Record<string, unknown>) => configSchema.safeParse({ type, url: 'http://p:9090', ...input }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ url: 'prometheus:9090' })).toEqual(['url: expected an http:// or https:// URL, such as http://prometheus:9090']);
    expect(issues({ username: 'u' })).toEqual(['passwordEnv: give username and passwordEnv together']);
    expect(issues({ passwordEnv: 'P' })).toEqual(['username: give username and passwordEnv together']);
    expect(issues({ username: 'u', passwordEnv: 'P', bearerTokenEnv: 'T' })).toEqual([
      'bearerTokenEnv: give bearerTokenEnv or username/passwordEnv, not both: one Authorization header is sent',
    ]);
    expect(issues({ headers: { 'X-Scope-OrgID': 'tenant-1', 'X-Key': { valueEnv: 'KEY' } } })).toBeUndefined();
  });

  it('measures an error rate from scraped data, and sees it change when the app fails', async () => {
    const traffic = sendTraffic([s.v1.url]);
    try {
      expect(await eventually(errorRateQuery('v1'), (v) => v === 0)).toBe(0);
      s.v1.set({ failRate: 0.5 });
      const failing = await eventually(errorRateQuery('v1'), (v) => v > 0.25);
      expect(failing).toBeLessThanOrEqual(0.5 + 1e-9);
    } finally {
      s.v1.set({ failRate: 0 });
      await traffic.stop();
    }
  }, 90_000);

  it('reads one series, a scalar, and Prometheus own metrics, by POST and by GET', async () => {
    expect(await metric().query('sum(app_up)', ctx())).toBe(2);
    expect(await metric({ method: 'GET' }).query('app_up{version="idle"}', ctx())).toBe(1);
    expect(await metric().query('scalar(sum(app_up)) * 2', ctx())).toBe(4);
    expect(await metric().query('count(up{job="prometheus"})', ctx())).toBe(1);
    expect(await metric({ url: `${s.prometheus.url}/api/v1/query` }).query('sum(app_up)', ctx())).toBe(2);
  });

  it("evaluates at the step clock's time, or at Prometheus' own on a simulated clock", async () => {
    const fixed = fakeStepContext({ clock: { ...createRealClock(), now: () => 1_700_000_000_250 } });
    expect(await metric().query('time()', fixed)).toBe(1_700_000_000.25);
    const simulated = fakeStepContext({ clock: createVirtualClock(Date.UTC(2001, 0, 1)) });
    expect(await metric().query('time()', simulated)).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('an empty vector is no data, never zero', async () => {
    const err = await rejection(metric().query('sum(app_up{version="v9"})', ctx()));
    expect(err).toBeInstanceOf(NoDataError);
    expect((err as Error).message).toBe(
      'prometheus: no data: query "sum(app_up{version=\\"v9\\"})" returned an empty vector (no series matched, or none had a sample in the lookback window); ' +
        'check the metric and label names, and that the service gets traffic',
    );
  });

  it('several series are an error that names them and says to aggregate', async () => {
    const err = await rejection(metric().query('app_up', ctx()));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).not.toBeInstanceOf(NoDataError);
    expect((err as ProviderError).retryable).toBe(false);
    const message = (err as Error).message;
    expect(message).toMatch(/^prometheus: query "app_up" returned 2 series \(/);
    expect(message).toContain(`app_up{instance="127.0.0.1:${s.v1.port}", job="app", version="v1"}`);
    expect(message).toContain(`app_up{instance="127.0.0.1:${s.idle.port}", job="app", version="idle"}`);
    expect(message).toContain('but analysis needs one number: aggregate them, as in sum(...) or avg(...), or select one series with label matchers');
    const many = await rejection(metric().query('prometheus_http_request_duration_seconds_bucket', ctx()));
    expect((many as Error).message).toMatch(/returned \d+ series \(.*, and \d+ more\)/);
  });

  it('NaN (a rate over zero requests) and Inf are errors that say so', async () => {
    // idle served one request before the first scrape and none since: its rates are 0, their ratio 0 / 0.
    const meanLatency = 'sum(rate(app_request_duration_seconds_sum{version="idle"}[5s])) / sum(rate(app_request_duration_seconds_count{version="idle"}[5s]))';
    await s.prometheus.waitFor(meanLatency, (r) => r[0]?.value[1] === 'NaN');
    const nan = await rejection(metric().query(meanLatency, ctx()));
    expect(nan).toBeInstanceOf(ProviderError);
    expect(nan).not.toBeInstanceOf(NoDataError);
    expect((nan as Error).message).toContain('returned NaN for {}: a division of zero by zero, such as an error rate over zero requests (no traffic in the range)');
    expect((await rejection(metric().query(errorRateQuery('idle'), ctx())) as Error).message).toContain('returned NaN');
    const inf = await rejection(metric().query('sum(app_up) / 0', ctx()));
    expect((inf as Error).message).toBe('prometheus: query "sum(app_up) / 0" returned +Inf for {}: a division by zero (the denominator of the query is 0); guard it with … and denominator > 0');
    const scalar = await rejection(metric().query('scalar(sum(app_up)) / 0', ctx()));
    expect((scalar as Error).message).toContain('returned +Inf for the scalar');
  }, 40_000);

  it('quotes Prometheus on a bad query, and does not retry it', async () => {
    const syntax = await rejection(metric().query('sum(rate(app_requests_total[1m])', ctx()));
    expect(syntax).toBeInstanceOf(ProviderError);
    expect((syntax as ProviderError).retryable).toBe(false);
    expect((syntax as Error).message).toBe(
      'prometheus: query "sum(rate(app_requests_total[1m])" failed: 400 Bad Request, bad_data: invalid parameter "query": 1:33: parse error: unclosed left parenthesis',
    );
    const execution = await rejection(metric().query('prometheus_http_requests_total * on(job) prometheus_http_requests_total', ctx()));
    expect((execution as ProviderError).retryable).toBe(false);
    expect((execution as Error).message).toMatch(/^prometheus: query ".*" failed: 422 Unprocessable Entity, execution: .*many-to-many matching not allowed/);
  });

  it('refuses a range vector and a string: analysis needs one number now', async () => {
    expect((await rejection(metric().query('app_up[1m]', ctx())) as Error).message).toBe(
      'prometheus: query "app_up[1m]" returned a range vector (matrix): analysis needs one number now; wrap the range in a function such as rate(...[5m]) or avg_over_time(...[5m])',
    );
    expect((await rejection(metric().query('"ready"', ctx())) as Error).message).toBe(
      'prometheus: query "\\"ready\\"" returned a string, not a number: write a query that gives an instant vector or a scalar',
    );
  });

  it('says when the URL is not the Prometheus API', async () => {
    const notFound = await rejection(metric({ url: `${s.prometheus.url}/prefix` }).query('sum(app_up)', ctx()));
    expect((notFound as Error).message).toBe(
      `prometheus: ${s.prometheus.url}/prefix/api/v1/query answered 404 Not Found (is url the Prometheus server's base URL, such as http://prometheus:9090?), not the JSON of the Prometheus API: 404 page not found`,
    );
    expect((notFound as ProviderError).retryable).toBe(false);
    const app = await rejection(metric({ url: s.v1.url }).query('sum(app_up)', ctx()));
    expect((app as Error).message).toBe(`prometheus: ${s.v1.url}/api/v1/query answered 200 OK, not the JSON of the Prometheus API: hello from v1`);
  });

  it('shows units in analysis: a measured error rate reads as a percentage', async () => {
    const loaded = loadTestWorkflow({
      sim: { services: { web: { version: 'v1' } }, versions: { v2: { startup: '0s' } } },
      metricProviders: { prom: { type: 'prometheus', url: s.prometheus.url } },
      stages: [
        {
          name: 'web',
          environment: 'staging',
          target: { type: 'sim', service: 'web' },
          router: { type: 'sim', service: 'web' },
          strategy: {
            type: 'canary',
            steps: [
              { setWeight: 50 },
              { analysis: { metrics: [{ name: 'up-share', provider: 'prom', query: 'sum(app_up{version="v1"}) / sum(app_up)', unit: 'ratio', successCondition: 'result > 0.4' }] } },
            ],
          },
        },
      ],
    });
    // A real metric provider runs on the real clock, as the CLI would choose (engine/run-setup.ts).
    const { outcome, events } = await runTestWorkflow(loaded, { clock: createRealClock() });
    const measured = events.find((e) => e.kind === 'analysis.measured');
    expect(measured).toMatchObject({ metric: 'up-share', value: 0.5, unit: 'ratio', verdict: 'succeeded' });
    expect(describeEvent(measured as never)).toBe('web: up-share=50% [success: result > 0.4] succeeded');
    expect(outcome.exitCode).toBe(0);
  });
});
