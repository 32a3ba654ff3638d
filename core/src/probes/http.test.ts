import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { configSchema, create, lookup, parseJsonPath, type } from './http.js';

const deps = () => fakeDeps();

const ctx = (options: { signal?: AbortSignal; env?: Record<string, string> } = {}) => fakeStepContext(options);

const BODY = {
  status: { ready: 3, name: 'api', healthy: true, note: null },
  items: [{ v: 1.5 }, { v: 2.5 }],
  nested: { a: [1, 2] },
};

let server: Server;
let base: string;
let lastHeaders: IncomingHttpHeaders = {};
let lastMethod = '';
let refusedBase: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    lastHeaders = req.headers;
    lastMethod = req.method ?? '';
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/ok':
        res.end('hello');
        return;
      case '/created':
        res.statusCode = 201;
        res.end();
        return;
      case '/down':
        res.statusCode = 503;
        res.end(JSON.stringify({ status: { ready: 0 } }));
        return;
      case '/json':
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(BODY));
        return;
      case '/text':
        res.end('<html>not json</html>');
        return;
      case '/auth':
        res.statusCode = req.headers.authorization === 'Bearer tok-s3cret' ? 200 : 401;
        res.end();
        return;
      case '/slow':
        setTimeout(() => res.end('late'), 5000).unref();
        return;
      case '/slow-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"status":');
        setTimeout(() => res.end('1}'), 5000).unref();
        return;
      default:
        res.statusCode = 404;
        res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const temp = createServer();
  await new Promise<void>((resolve) => temp.listen(0, '127.0.0.1', resolve));
  refusedBase = `http://127.0.0.1:${(temp.address() as { port: number }).port}`;
  await new Promise<void>((resolve) => temp.close(() => resolve()));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const probe = (fields: Record<string, unknown>) => create(configSchema.parse({ type: 'http', ...fields }), deps());

describe('http probe', () => {
  it('exports its type', () => {
    expect(type).toBe('http');
    expect(probe({ url: base }).type).toBe('http');
  });

  it('is ok for 2xx, with the status as value', async () => {
    const result = await probe({ url: `${base}/ok` }).check(ctx());
    expect(result).toMatchObject({ ok: true, value: 200, details: { status: 200 } });
    expect(result.error).toBeUndefined();
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect((await probe({ url: `${base}/created` }).check(ctx())).ok).toBe(true);
  });

  it('is not ok for 503, saying what it expected', async () => {
    const result = await probe({ url: `${base}/down?token=abc` }).check(ctx());
    expect(result).toMatchObject({ ok: false, value: 503, details: { status: 503 } });
    expect(result.error).toBe(`${base}/down answered 503 (expected 2xx)`);
    const jsonPathToo = await probe({ url: `${base}/down`, jsonPath: 'status.ready' }).check(ctx());
    expect(jsonPathToo).toMatchObject({ ok: false, value: 503 });
  });

  it('honours expectStatus', async () => {
    const result = await probe({ url: `${base}/down`, expectStatus: [503] }).check(ctx());
    expect(result).toMatchObject({ ok: true, value: 503 });
    const notOk = await probe({ url: `${base}/ok`, expectStatus: [204, 301] }).check(ctx());
    expect(notOk).toMatchObject({ ok: false, error: `${base}/ok answered 200 (expected 204, 301)` });
  });

  it('reads the value at jsonPath', async () => {
    const read = async (jsonPath: string) => probe({ url: `${base}/json`, jsonPath }).check(ctx());
    expect(await read('status.ready')).toMatchObject({ ok: true, value: 3, details: { status: 200 } });
    expect((await read('status.name')).value).toBe('api');
    expect((await read('status.healthy')).value).toBe(true);
    expect((await read('status.note')).value).toBeNull();
    expect((await read('items.1.v')).value).toBe(2.5);
    expect((await read('$.items[0].v')).value).toBe(1.5);
    expect((await read('nested')).value).toBe('{"a":[1,2]}');
    const missing = await read('status.missing');
    expect(missing).toMatchObject({ ok: false, value: null, error: `jsonPath 'status.missing' is not in the response of ${base}/json` });
    expect((await read('status.__proto__')).ok).toBe(false);
    expect((await read('status.constructor')).ok).toBe(false);
  });

  it('is not ok when jsonPath is set and the body is not JSON', async () => {
    const result = await probe({ url: `${base}/text`, jsonPath: 'a' }).check(ctx());
    expect(result).toMatchObject({ ok: false, details: { status: 200 } });
    expect(result.error).toContain('the body is not JSON');
  });

  it('gives up after its timeout', async () => {
    const started = Date.now();
    const result = await probe({ url: `${base}/slow`, timeout: '200ms' }).check(ctx());
    expect(result).toMatchObject({ ok: false, value: null, error: `no answer from ${base}/slow within 200ms` });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('gives up after its timeout while reading the body', async () => {
    const result = await probe({ url: `${base}/slow-body`, timeout: '300ms', jsonPath: 'status' }).check(ctx());
    expect(result).toMatchObject({ ok: false, error: `no answer from ${base}/slow-body within 300ms` });
  });

  it('stops when ctx.signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const result = await probe({ url: `${base}/slow`, timeout: '5s' }).check(ctx({ signal: controller.signal }));
    expect(result).toMatchObject({ ok: false, error: `cancelled while requesting ${base}/slow` });
    expect(Date.now() - started).toBeLessThan(2000);
    const already = await probe({ url: `${base}/ok` }).check(ctx({ signal: AbortSignal.abort() }));
    expect(already).toMatchObject({ ok: false, error: `cancelled before requesting ${base}/ok` });
  });

  it('sends a bearer token from the environment and never returns it', async () => {
    const result = await probe({ url: `${base}/auth`, bearerTokenEnv: 'API_TOKEN' }).check(ctx({ env: { API_TOKEN: 'tok-s3cret' } }));
    expect(result).toMatchObject({ ok: true, value: 200 });
    expect(lastHeaders.authorization).toBe('Bearer tok-s3cret');
    expect(JSON.stringify(result)).not.toContain('tok-s3cret');

    const wrong = await probe({ url: `${base}/auth`, bearerTokenEnv: 'API_TOKEN' }).check(ctx({ env: { API_TOKEN: 'other-token' } }));
    expect(wrong).toMatchObject({ ok: false, value: 401 });
    expect(JSON.stringify(wrong)).not.toContain('other-token');
  });

  it('says which environment variable is missing', async () => {
    const result = await probe({ url: `${base}/auth`, bearerTokenEnv: 'API_TOKEN' }).check(ctx());
    expect(result.ok).toBe(false);
    expect(result.error).toContain('environment variable API_TOKEN is not set');
  });

  it('sends headers and the method', async () => {
    await probe({ url: `${base}/ok`, headers: { 'x-probe': 'rollgate' }, method: 'POST' }).check(ctx());
    expect(lastHeaders['x-probe']).toBe('rollgate');
    expect(lastMethod).toBe('POST');
    const head = await probe({ url: `${base}/json`, method: 'HEAD', jsonPath: 'status.ready' }).check(ctx());
    expect(lastMethod).toBe('HEAD');
    expect(head).toMatchObject({ ok: true, value: 200 });
  });

  it('fills {{ vars.NAME }} and {{ env.NAME }} placeholders left in the URL', async () => {
    const result = await probe({ url: '{{ env.BASE }}/{{ vars.PATH_PART }}' }).check(ctx({ env: { BASE: base, ROLLGATE_VAR_PATH_PART: 'ok' } }));
    expect(result).toMatchObject({ ok: true, value: 200 });
    const missing = await probe({ url: `${base}/{{ vars.NOPE }}` }).check(ctx());
    expect(missing.ok).toBe(false);
    expect(missing.error).toContain("url: '{{ vars.NOPE }}' has no value");
  });

  it('reports a refused connection and a bad URL without throwing', async () => {
    const refused = await probe({ url: `${refusedBase}/x` }).check(ctx());
    expect(refused).toMatchObject({ ok: false, value: null, error: `request to ${refusedBase}/x failed: connection refused (nothing listens there)` });
    const bad = await probe({ url: 'not a url' }).check(ctx());
    expect(bad.ok).toBe(false);
    expect(bad.error).toBe("url 'not a url' is not a valid URL; write it as http(s)://host[:port]/path");
    const dns = await probe({ url: 'http://no-such-host.invalid/' }).check(ctx());
    expect(dns.ok).toBe(false);
    expect(dns.error).toMatch(/request to http:\/\/no-such-host.invalid\/ failed: (ENOTFOUND|EAI_AGAIN)/);
  });

  it('sends credentials in the URL as Basic auth', async () => {
    const result = await probe({ url: base.replace('http://', 'http://us%40er:p%3Ass@') + '/ok' }).check(ctx());
    expect(result).toMatchObject({ ok: true, value: 200 });
    expect(lastHeaders.authorization).toBe(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
  });

  it('never shows credentials from the URL in messages', async () => {
    const result = await probe({ url: `${refusedBase.replace('http://', 'http://user:pw-s3cret@')}/x?key=k3y` }).check(ctx());
    expect(result.ok).toBe(false);
    expect(result.error).not.toContain('pw-s3cret');
    expect(result.error).not.toContain('k3y');
  });
});

describe('json path helpers', () => {
  it('parseJsonPath', () => {
    expect(parseJsonPath('a.b.c')).toEqual(['a', 'b', 'c']);
    expect(parseJsonPath('$.a[0].b')).toEqual(['a', '0', 'b']);
    expect(parseJsonPath('$')).toEqual([]);
    expect(parseJsonPath('')).toEqual([]);
  });

  it('lookup', () => {
    expect(lookup({ a: [1, { b: 'x' }] }, ['a', '1', 'b'])).toEqual({ found: true, value: 'x' });
    expect(lookup({ a: [1] }, ['a', '5'])).toEqual({ found: false });
    expect(lookup({ a: [1] }, ['a', 'length'])).toEqual({ found: false });
    expect(lookup({ a: 1 }, ['a', 'b'])).toEqual({ found: false });
    expect(lookup(7, [])).toEqual({ found: true, value: 7 });
    expect(lookup({}, ['toString'])).toEqual({ found: false });
  });
});
