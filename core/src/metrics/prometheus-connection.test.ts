import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../tests/real/app-server.js';
import { type Gateway, type PrometheusServer, startGateway, startPrometheus, TEST_BASIC_AUTH } from '../../../tests/real/servers/prometheus.js';
import { NoDataError, ProviderError } from '../errors.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { configSchema, create, type PrometheusMetricConfig } from './prometheus.js';

/*
 * How the prometheus metric reaches a real Prometheus, and what it says when it cannot: refused,
 * silent (a frozen process), behind a failing gateway, with and without credentials. Messages
 * name the URL and never a credential.
 */

const SECRETS: Record<string, string> = { PROM_PASSWORD: TEST_BASIC_AUTH.password, PROM_TOKEN: 'tok-Zq81-s3cret', WRONG: 'not-the-password' };
const deps = () => fakeDeps({ secret: (name) => SECRETS[name] });
const ctx = (signal?: AbortSignal) => fakeStepContext(signal ? { signal } : {});
const config = (input: Record<string, unknown>) => configSchema.parse({ type: 'prometheus', ...input });
const metric = (input: Record<string, unknown>) => create(config(input), deps());

let open: PrometheusServer;
let guarded: PrometheusServer;
let gateway: Gateway;
let other: Server;
beforeAll(async () => {
  [open, guarded] = await Promise.all([startPrometheus(), startPrometheus({ basicAuth: TEST_BASIC_AUTH })]);
  gateway = await startGateway(open.url);
  // Not Prometheus: a JSON API somewhere else.
  other = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"value":1}}'));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
}, 60_000);
afterAll(async () => {
  other?.closeAllConnections();
  other?.close();
  await Promise.allSettled([open?.stop(), guarded?.stop(), gateway?.close()]);
});

function expectNoCredentials(message: string): void {
  for (const secret of [...Object.values(SECRETS), 'us3r', 'pa55-in-url', 'tenant-key']) expect(message).not.toContain(secret);
}

describe('prometheus metric: connection', () => {
  it('Prometheus down: a retryable error naming the URL, without credentials', async () => {
    const port = await freePort();
    const err = await rejection(
      metric({ url: `http://us3r:pa55-in-url@127.0.0.1:${port}/?tenant=tenant-key`, headers: { 'X-Key': { valueEnv: 'PROM_TOKEN' } } }).query('sum(up)', ctx()),
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).not.toBeInstanceOf(NoDataError);
    expect((err as ProviderError).retryable).toBe(true);
    expect((err as Error).message).toBe(
      `prometheus: request to http://127.0.0.1:${port}/api/v1/query failed: connection refused (nothing listens there: is it running, and is the port right?)`,
    );
    const withToken = await rejection(metric({ url: `http://127.0.0.1:${port}`, bearerTokenEnv: 'PROM_TOKEN' }).query('sum(up)', ctx()));
    expectNoCredentials((withToken as Error).message);
  });

  it('a Prometheus that does not answer: a retryable timeout naming the URL', async () => {
    open.pause();
    try {
      const err = await rejection(metric({ url: open.url, timeout: '300ms' }).query('sum(up)', ctx()));
      expect((err as ProviderError).retryable).toBe(true);
      expect((err as Error).message).toBe(`prometheus: no answer from ${open.url}/api/v1/query within 300ms (timeout); is it overloaded, or is the timeout too short?`);
    } finally {
      open.resume();
    }
    expect(await metric({ url: open.url }).query('count(up)', ctx())).toBe(1);
  });

  it("stops when the step's signal aborts, before or while it waits", async () => {
    const controller = new AbortController();
    gateway.holdNext(() => controller.abort(new Error('deadline')));
    const err = await rejection(metric({ url: gateway.url, timeout: '10m' }).query('sum(up)', ctx(controller.signal)));
    expect((err as Error).message).toBe(`prometheus: cancelled while requesting ${gateway.url}/api/v1/query`);
    const before = await rejection(metric({ url: gateway.url }).query('sum(up)', ctx(controller.signal)));
    expect((before as Error).message).toBe(`prometheus: cancelled before requesting ${gateway.url}/api/v1/query`);
  });

  it('a gateway that answers 503 for it: retryable, and the query works once it is back', async () => {
    gateway.failNext(503);
    const provider = metric({ url: gateway.url });
    const err = await rejection(provider.query('count(up)', ctx()));
    expect((err as ProviderError).retryable).toBe(true);
    expect((err as Error).message).toBe(`prometheus: ${gateway.url}/api/v1/query answered 503 Service Unavailable, not the JSON of the Prometheus API: backend unavailable`);
    expect(await provider.query('count(up)', ctx())).toBe(1);
  });

  it('sends Basic auth from username and passwordEnv, or from the URL', async () => {
    expect(await metric({ url: guarded.url, username: TEST_BASIC_AUTH.username, passwordEnv: 'PROM_PASSWORD' }).query('vector(7)', ctx())).toBe(7);
    const inUrl = guarded.url.replace('http://', `http://${TEST_BASIC_AUTH.username}:${encodeURIComponent(TEST_BASIC_AUTH.password)}@`);
    expect(await metric({ url: inUrl, method: 'GET' }).query('vector(8)', ctx())).toBe(8);
  });

  it('says which credentials to check when Prometheus refuses them, without showing them', async () => {
    const wrong = await rejection(metric({ url: guarded.url, username: TEST_BASIC_AUTH.username, passwordEnv: 'WRONG' }).query('vector(1)', ctx()));
    expect((wrong as ProviderError).retryable).toBe(false);
    expect((wrong as Error).message).toBe(
      `prometheus: ${guarded.url}/api/v1/query answered 401 Unauthorized (check the credentials: username/passwordEnv, bearerTokenEnv or headers), not the JSON of the Prometheus API: Unauthorized`,
    );
    const token = await rejection(metric({ url: guarded.url, bearerTokenEnv: 'PROM_TOKEN' }).query('vector(1)', ctx()));
    expect((token as Error).message).toContain('answered 401 Unauthorized');
    expectNoCredentials((token as Error).message);
    const missing = await rejection(metric({ url: guarded.url, username: 'rollgate', passwordEnv: 'UNSET_PASSWORD' }).query('vector(1)', ctx()));
    expect((missing as Error).message).toBe("prometheus: environment variable UNSET_PASSWORD is not set (passwordEnv); export it in the CI job's secrets");
    const header = await rejection(metric({ url: guarded.url, headers: { 'X-Key': { valueEnv: 'UNSET_KEY' } } }).query('vector(1)', ctx()));
    expect((header as Error).message).toBe("prometheus: environment variable UNSET_KEY is not set (headers.X-Key.valueEnv); export it in the CI job's secrets");
  });

  it('says when the answer is JSON but not the Prometheus API', async () => {
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const err = await rejection(metric({ url }).query('sum(up)', ctx()));
    expect((err as Error).message).toBe(`prometheus: ${url}/api/v1/query answered 200 OK without a Prometheus API envelope ({status, data}): is url the Prometheus server's base URL?`);
  });

  it('reports a URL that the schema would have refused', async () => {
    const raw = (url: string) => create({ ...config({ url: 'http://x' }), url } as PrometheusMetricConfig, deps());
    expect((await rejection(raw('not a url').query('up', ctx())) as Error).message).toBe(
      "prometheus: url 'not a url' is not a valid URL; write it as http(s)://host[:port]/path",
    );
    expect((await rejection(raw('ftp://u:p@host/x?k=v').query('up', ctx())) as Error).message).toBe(
      "prometheus: url 'ftp://host/x/api/v1/query' is not http(s); write it as http(s)://host[:port]/path",
    );
  });
});
