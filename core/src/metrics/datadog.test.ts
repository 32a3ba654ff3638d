import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock } from '../clocks/virtual.js';
import { NoDataError, ProviderError } from '../errors.js';
import type { Logger } from '../ports/logger.js';
import { DatadogServer } from '../testing/datadog-server.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import * as datadog from './datadog.js';

const ERRORS = 'sum:trace.http.request.errors{service:web,version:v2}.as_count()';
const HITS = 'sum:trace.http.request.hits{service:web,version:v2}.as_count()';
const RATIO = `formula: 100 * errors / hits\nqueries:\n  errors: ${ERRORS}\n  hits: ${HITS}`;

let server: DatadogServer;
beforeAll(async () => {
  server = await new DatadogServer().start();
});
afterAll(() => server.stop());

let clock = createVirtualClock();
let lines: string[];
const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), output: () => {} };
beforeEach(() => {
  // A fresh clock at a whole minute: the points of a 5-minute window are the same in every test.
  clock = createVirtualClock(Date.UTC(2026, 11, 3, 12, 0, 0));
  lines = [];
  server.canQuery = true;
  server.requests.length = 0;
  server.define(ERRORS, (t) => (t % 120_000 === 0 ? 2 : 4));
  server.define(HITS, 200);
});

function provider(config: Record<string, unknown> = {}, secrets: Record<string, string> = { DD_API_KEY: server.apiKey, DD_APP_KEY: server.appKey }) {
  return datadog.create(datadog.configSchema.parse({ type: 'datadog', endpoint: server.url, ...config }), fakeDeps({ clock, log, secret: (n) => secrets[n] }));
}
const ctx = (env: Record<string, string> = {}) => fakeStepContext({ clock, log, env });
const failure = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected the query to fail').toBeInstanceOf(Error);
  return err as ProviderError;
};

describe('datadog metric provider', () => {
  it('asks v2 timeseries for the last 5 minutes ending now on the step clock, and averages the points', async () => {
    expect(await provider().query(ERRORS, ctx())).toBe(3);
    const sent = server.requests[0];
    expect(sent?.path).toBe('/api/v2/query/timeseries');
    expect(sent?.body).toEqual({
      data: {
        type: 'timeseries_request',
        attributes: { from: clock.now() - 300_000, to: clock.now(), queries: [{ data_source: 'metrics', query: ERRORS, name: 'query1' }] },
      },
    });
  });

  it('evaluates a formula over named queries (an error percentage) in one request', async () => {
    expect(await provider().query(RATIO, ctx())).toBeCloseTo(1.5);
    expect(server.requests).toHaveLength(1);
    expect((server.requests[0]?.body as { data: { attributes: { formulas: unknown } } }).data.attributes.formulas).toEqual([{ formula: '100 * errors / hits' }]);
  });

  it('reduces as the config says, and a query’s own reduce wins; lookback sets the window', async () => {
    expect(await provider({ reduce: 'max' }).query(ERRORS, ctx())).toBe(4);
    expect(await provider({ reduce: 'min', lookback: '10m' }).query(ERRORS, ctx())).toBe(2);
    expect(await provider({ reduce: 'min' }).query(`reduce: sum\nqueries:\n  e: ${ERRORS}`, ctx())).toBe(18);
    const windows = server.requests.map((r) => (r.body as { data: { attributes: { from: number; to: number } } }).data.attributes);
    expect(windows.map((w) => w.to - w.from)).toEqual([300_000, 600_000, 300_000]);
  });

  it('no series is no data, never zero', async () => {
    const err = await failure(provider().query('avg:web.latency{version:v9}', ctx()));
    expect(err).toBeInstanceOf(NoDataError);
    expect(err.message).toBe(
      'datadog: no data: query "avg:web.latency{version:v9}" returned no series in the last 5m; check the metric name and tags, and that the service reports (gets traffic)',
    );
  });

  it('a series of null points only is no data', async () => {
    server.define('avg:web.latency{version:v3}', () => null);
    const err = await failure(provider().query('avg:web.latency{version:v3}', ctx()));
    expect(err).toBeInstanceOf(NoDataError);
    expect(err.message).toBe('datadog: no data: query "avg:web.latency{version:v3}" has a series but no point in the last 5m; the service may get no traffic yet');
  });

  it('several series are an error that says to aggregate them', async () => {
    server.define('avg:web.latency{*} by {version}', [{ tags: ['version:v1'], value: () => 1 }, { tags: ['version:v2'], value: () => 2 }]);
    const err = await failure(provider().query('avg:web.latency{*} by {version}', ctx()));
    expect(err).not.toBeInstanceOf(NoDataError);
    expect(err.message).toBe('datadog: query "avg:web.latency{*} by {version}" returned 2 series (version:v1; version:v2); analysis needs one number: aggregate them (drop the "by {…}" grouping)');
  });

  it('keys refused (HTTP 401) names both variables and the site', async () => {
    const err = await failure(provider({}, { DD_API_KEY: 'revoked', DD_APP_KEY: server.appKey }).query(ERRORS, ctx()));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(
      `datadog: the API key (DD_API_KEY) or application key (DD_APP_KEY) was refused by ${new URL(server.url).host} (HTTP 401): check both hold valid keys of that site (a key of another site, such as datadoghq.eu, is refused) and were not revoked`,
    );
  });

  it('an application key without the permission (HTTP 403) names timeseries_query', async () => {
    server.canQuery = false;
    const err = await failure(provider({ appKeyEnv: 'WEB_DD_APP_KEY' }, { DD_API_KEY: server.apiKey, WEB_DD_APP_KEY: server.appKey }).query(ERRORS, ctx()));
    expect(err.message).toBe(
      'datadog: the application key (WEB_DD_APP_KEY) may not query metrics (HTTP 403 Forbidden): its owner\'s role, or the key\'s scopes, need the timeseries_query permission',
    );
  });

  it('a key that is not set says which variable to export', async () => {
    const err = await failure(provider({}, { DD_API_KEY: server.apiKey }).query(ERRORS, ctx()));
    expect(err.message).toBe("datadog: environment variable DD_APP_KEY is not set (appKeyEnv); export the key in the CI job's secrets");
    expect(server.requests).toHaveLength(0);
  });

  it('throttled (HTTP 429 with the rate-limit headers) is retried on the step clock, then succeeds', async () => {
    server.fail(429, { times: 2, rateLimitReset: 3 });
    const before = clock.now();
    expect(await provider().query(HITS, ctx())).toBe(200);
    expect(server.requests).toHaveLength(3);
    expect(lines.filter((l) => l.includes('throttled'))).toHaveLength(2);
    expect(lines[0]).toMatch(/^datadog: run query ".*": throttled, retrying in .* \(attempt 2 of 6\)$/);
    expect(clock.now()).toBeGreaterThan(before);
  });

  it('a 429 with Retry-After waits what the API asked', async () => {
    server.fail(429, { retryAfter: 4 });
    expect(await provider().query(HITS, ctx())).toBe(200);
    expect(lines).toEqual([expect.stringMatching(/throttled, retrying in 4\.0s \(attempt 2 of 6\)$/)]);
  });

  it('a 5xx on every attempt is a retryable error, not no data', async () => {
    server.fail(500, { times: 6 });
    const err = await failure(provider().query(ERRORS, ctx()));
    expect(err).not.toBeInstanceOf(NoDataError);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^datadog: cannot run query ".*": the API failed \(HTTP 500\): Internal Server Error$/);
  });

  it('no answer within timeout is a retryable error naming the host', async () => {
    server.hangNext();
    const err = await failure(provider({ timeout: '100ms' }).query(ERRORS, ctx()));
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(`datadog: no answer from ${new URL(server.url).host} within 100ms to run query "${ERRORS}"; is the API slow, or the timeout too short?`);
  });

  it('a formula form that is wrong says how to write it', async () => {
    expect((await failure(provider().query('formula: a / b\nqueries: 3', ctx()))).message).toBe(
      'datadog: the formula form of the query is wrong (queries: Invalid input: expected record, received number); write formula: ..., queries: {NAME: QUERY}, and optionally reduce: avg|last|min|max|sum',
    );
    expect((await failure(provider().query(`queries:\n  a: ${ERRORS}\n  b: ${HITS}`, ctx()))).message).toBe(
      'datadog: the query names 2 queries (a, b) but no formula; add formula: to combine them into one number',
    );
    const unknown = await failure(provider().query(`formula: a / c\nqueries:\n  a: ${ERRORS}`, ctx()));
    expect(unknown.message).toMatch(/^datadog: cannot run query ".*": refused \(HTTP 400\): Formula references unknown query name: c$/);
  });

  it('the site comes from config, else DD_SITE; a DD_SITE that is no site is refused before any request', async () => {
    const err = await failure(datadog.create(datadog.configSchema.parse({ type: 'datadog' }), fakeDeps({ clock, secret: () => 'k' })).query(ERRORS, ctx({ DD_SITE: 'evil.example/x?' })));
    expect(err.message).toBe('datadog: DD_SITE is not a Datadog site (such as datadoghq.com or datadoghq.eu); fix it, or set `site` in the metric provider');
    expect(datadog.configSchema.safeParse({ type: 'datadog', site: 'datadoghq.eu', endpoint: server.url }).success).toBe(false);
  });

  it('never shows a key: not in a message, a log line, or the request body', async () => {
    const seen: string[] = [];
    server.fail(429, { times: 1 });
    await provider().query(ERRORS, ctx());
    seen.push((await failure(provider({}, { DD_API_KEY: 'wrong', DD_APP_KEY: server.appKey }).query(ERRORS, ctx()))).message);
    server.canQuery = false;
    seen.push((await failure(provider().query(ERRORS, ctx()))).message);
    server.fail(500, { times: 6 });
    seen.push((await failure(provider().query(ERRORS, ctx()))).message);
    const text = [...seen, ...lines, JSON.stringify(server.requests)].join('\n');
    expect(text).not.toContain(server.apiKey);
    expect(text).not.toContain(server.appKey);
  });
});
