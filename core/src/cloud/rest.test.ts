import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock } from '../clocks/virtual.js';
import { ProviderError } from '../errors.js';
import type { Logger } from '../ports/logger.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeStepContext } from '../testing/fakes.js';
import { apiError, restCall, type RestService, type TokenSource } from './rest.js';
import { callWithRetry, CloudError } from './retrying.js';

/* The REST client of the clouds against a local server answering what each cloud's API answers. */
type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
let server: Server;
let url: string;
let replies: Reply[];
let seen: Array<{ method: string; path: string; auth: string; body: string; headers: IncomingMessage['headers'] }>;
let lines: string[];
beforeEach(async () => {
  replies = [];
  seen = [];
  lines = [];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', auth: String(req.headers.authorization ?? ''), body, headers: req.headers });
      const reply = replies.shift() ?? { status: 200, body: { ok: true } };
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

const clock = createVirtualClock();
const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), output() {} };
const ctx = (signal?: AbortSignal) => fakeStepContext({ clock, log, ...(signal ? { signal } : {}) });
let issued = 0;
const tokens: TokenSource = { token: async () => `token-${issued}-secret`, refresh: () => void (issued += 1) };
const service: RestService = { name: 'cloud-run', auth: tokens };
const call = (what = 'read the service web', svc: RestService = service) => restCall<{ ok?: boolean }>(svc, { url: `${url}/v2/services/web`, what }, ctx());

describe('restCall', () => {
  it('sends JSON with the bearer token and the query, and returns the parsed answer', async () => {
    replies.push({ status: 200, body: { name: 'web' } });
    const answer = await restCall(service, { method: 'PATCH', url: `${url}/v2/services/web`, query: { updateMask: 'template', skip: undefined }, body: { a: 1 }, what: 'update the service web' }, ctx());
    expect(answer).toMatchObject({ status: 200, body: { name: 'web' } });
    expect(seen[0]).toMatchObject({ method: 'PATCH', path: '/v2/services/web?updateMask=template', auth: `Bearer token-${issued}-secret`, body: '{"a":1}' });
    expect(seen[0]?.headers['content-type']).toBe('application/json');
  });

  it('takes API keys from the service headers instead of a token', async () => {
    await call('query', { name: 'datadog', headers: () => ({ 'DD-API-KEY': 'k' }) });
    expect(seen[0]?.headers['dd-api-key']).toBe('k');
    expect(seen[0]?.auth).toBe('');
  });

  it('gets a fresh token once after a 401, and goes on', async () => {
    const before = issued;
    replies.push({ status: 401, body: { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } } });
    expect((await call()).body).toEqual({ ok: true });
    expect(issued).toBe(before + 1);
    expect(seen.map((s) => s.auth)).toEqual([`Bearer token-${before}-secret`, `Bearer token-${before + 1}-secret`]);
  });

  it('says refused credentials must be renewed when the fresh token is refused too, without the token', async () => {
    replies.push({ status: 401 }, { status: 401, body: { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } } });
    const err = (await rejection(call())) as CloudError;
    expect(err.message).toBe(
      'cloud-run: cannot read the service web: the credentials were refused (HTTP 401 UNAUTHENTICATED): they may have expired or been revoked; renew them in the CI secret or the login step: Request had invalid authentication credentials.',
    );
    expect(err).toMatchObject({ retryable: false, status: 401, code: 'UNAUTHENTICATED' });
    expect(err.message).not.toContain('token-');
  });

  it('waits what Retry-After asks on the step clock when throttled, logging it', async () => {
    replies.push({ status: 429, headers: { 'retry-after': '3' }, body: { error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } } });
    const start = clock.now();
    expect((await call()).status).toBe(200);
    expect(clock.now() - start).toBe(3000);
    expect(lines).toEqual(['cloud-run: read the service web: throttled, retrying in 3.0s (attempt 2 of 6)']);
  });

  it("waits until Datadog's rate-limit window resets when it gives no Retry-After", async () => {
    replies.push({ status: 429, headers: { 'x-ratelimit-reset': '2' }, body: { errors: ['Rate limit exceeded'] } });
    const start = clock.now();
    expect((await call('query the metric', { name: 'datadog' })).status).toBe(200);
    expect(clock.now() - start).toBe(2000);
  });

  it('retries 5xx with backoff, and gives up after six calls with a retryable error', async () => {
    for (let i = 0; i < 6; i++) replies.push({ status: 503, body: { error: { code: 'ServiceUnavailable', message: 'try later' } } });
    const err = (await rejection(call())) as CloudError;
    expect(err.message).toBe('cloud-run: cannot read the service web: the API failed (HTTP 503 ServiceUnavailable): try later');
    expect(err.retryable).toBe(true);
    expect(seen).toHaveLength(6);
    expect(lines[0]).toMatch(/^cloud-run: read the service web: the API failed \(HTTP 503 ServiceUnavailable\): try later, retrying in \d+ ms \(attempt 2 of 6\)$/);
  });

  it('does not wait a Retry-After longer than it ever waits, and says how long was asked', async () => {
    replies.push({ status: 429, headers: { 'retry-after': '3600' }, body: { errors: ['Rate limit exceeded'] } });
    const err = (await rejection(call('query the metric', { name: 'datadog' }))) as CloudError;
    expect(err.message).toBe(
      'datadog: cannot query the metric: throttled (HTTP 429): Rate limit exceeded; the API asked to retry after 3600s, longer than rollgate waits within one call',
    );
    expect(err.retryable).toBe(true);
  });

  it.each([
    [403, { error: { code: 403, message: "Permission 'run.services.update' denied", status: 'PERMISSION_DENIED' } }, "cloud-run: cannot read the service web: permission denied (HTTP 403 PERMISSION_DENIED): Permission 'run.services.update' denied; grant the permission to the identity rollgate runs as"],
    [404, { error: { code: 'ResourceNotFound', message: "The Resource 'Microsoft.App/containerApps/web' was not found." } }, "cloud-run: cannot read the service web: not found (HTTP 404 ResourceNotFound): The Resource 'Microsoft.App/containerApps/web' was not found."],
    [400, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1' }, 'cloud-run: cannot read the service web: refused (HTTP 400 invalid_client): AADSTS7000215: Invalid client secret provided.'],
    [409, 'conflict', 'cloud-run: cannot read the service web: refused (HTTP 409): conflict'],
    [400, { message: 'bad query' }, 'cloud-run: cannot read the service web: refused (HTTP 400): bad query'],
    [422, [1], 'cloud-run: cannot read the service web: refused (HTTP 422)'],
  ])('names an HTTP %i with what the API said', async (status, body, message) => {
    replies.push({ status, body });
    const err = (await rejection(call())) as CloudError;
    expect(err.message).toBe(message);
    expect(err).toMatchObject({ status, retryable: false });
  });

  it('says an API that does not answer is unreachable, and stops at once when the step is cancelled', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const err = (await rejection(restCall({ name: 'azure-monitor', attempts: 1 }, { url: `${url}/x`, what: 'read metrics' }, ctx()))) as CloudError;
    expect(err.message).toMatch(/^azure-monitor: cannot read metrics: 127\.0\.0\.1:\d+ is unreachable \(connection refused/);
    expect(err.retryable).toBe(true);
    const stop = new AbortController();
    stop.abort(new Error('cancelled'));
    expect(((await rejection(restCall({ name: 'x' }, { url: `${url}/x`, what: 'y' }, ctx(stop.signal)))) as Error).message).toBe('cancelled');
    server.listen(0, '127.0.0.1');
  });

  it('reads a body that is not JSON as text, and an empty one as nothing', async () => {
    replies.push({ status: 200, body: 'plain' }, { status: 204 });
    expect((await call()).body).toBe('plain');
    expect((await call()).body).toBeUndefined();
  });

  it('reads long API messages cut to one line of 300 characters', () => {
    expect(apiError({ message: `a\n${'b'.repeat(400)}` }).message).toHaveLength(301);
    expect(apiError(null)).toEqual({});
    expect(apiError('  ')).toEqual({});
  });
});

describe('callWithRetry', () => {
  const options = { service: 'ecs', what: 'update', ctx: ctx() };
  it('throws other errors at once', async () => {
    let calls = 0;
    const err = await rejection(callWithRetry(async () => { calls += 1; throw new ProviderError('no', { retryable: false }); }, options));
    expect((err as Error).message).toBe('no');
    expect(calls).toBe(1);
  });

  it('retries a retryable provider error and logs its own words', async () => {
    let calls = 0;
    const value = await callWithRetry(async () => { calls += 1; if (calls < 3) throw new ProviderError('ecs: the service is being updated', { retryable: true }); return 'done'; }, { ...options, random: () => 0 });
    expect(value).toBe('done');
    expect(lines).toEqual(['ecs: update: the service is being updated, retrying in 250 ms (attempt 2 of 6)', 'ecs: update: the service is being updated, retrying in 500 ms (attempt 3 of 6)']);
  });
});
