import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../../tests/real/app-server.js';
import { NoDataError, ProviderError } from '../errors.js';
import { rejection } from '../testing/contracts/kit.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { describeJson, formatJsonPath, parseJsonPath, readJsonPath } from '../util/json-path.js';
import { MAX_BODY_BYTES } from './http-request.js';
import { configSchema, create, type } from './http.js';
import { metricProviders } from './index.js';

const BODY = {
  data: {
    items: [{ value: 0.25 }, { value: '0.5' }],
    count: 3,
    status: 'green',
    ready: true,
    nothing: null,
    labels: { 'app.kubernetes.io/name': 'web' },
  },
};

let server: Server;
let base: string;
let last: { method: string; headers: IncomingHttpHeaders; body: string } | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      last = { method: req.method ?? '', headers: req.headers, body };
      const json = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      switch (new URL(req.url ?? '/', 'http://x').pathname) {
        case '/json':
          return json(BODY);
        case '/number':
          return json(42);
        case '/down':
          return void res.writeHead(503).end('maintenance until 10:00');
        case '/gone':
          return void res.writeHead(404).end();
        case '/text':
          return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
        case '/declared-large':
          return void res.writeHead(200, { 'content-length': String(MAX_BODY_BYTES + 1) }).end();
        case '/streamed-large': {
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(1024 * 1024, 0x20);
          for (let i = 0; i <= MAX_BODY_BYTES / chunk.length; i++) res.write(chunk);
          return void res.end('1');
        }
        case '/hang':
          return;
        default:
          return void res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const SECRETS: Record<string, string> = { API_TOKEN: 'tok-Yy71-s3cret', API_PASSWORD: 'pw-Qq93-s3cret', TENANT_KEY: 'key-Kk55-s3cret' };
const metric = (input: Record<string, unknown>) =>
  create(configSchema.parse({ type: 'http', ...input }), fakeDeps({ secret: (name) => SECRETS[name] }));
const ctx = (signal?: AbortSignal) => fakeStepContext(signal ? { signal } : {});
const message = async (promise: Promise<unknown>) => ((await rejection(promise)) as Error).message;

describe('json paths', () => {
  it('parses dotted, indexed and quoted paths, and says where one is malformed', () => {
    expect(parseJsonPath('data.items[0].value')).toEqual(['data', 'items', 0, 'value']);
    expect(parseJsonPath('$.a.b')).toEqual(['a', 'b']);
    expect(parseJsonPath('$')).toEqual([]);
    expect(parseJsonPath(' items.0.v ')).toEqual(['items', '0', 'v']);
    expect(parseJsonPath(`labels["app.kubernetes.io/name"]['x y'][ 2 ]`)).toEqual(['labels', 'app.kubernetes.io/name', 'x y', 2]);
    expect(parseJsonPath('a["q\\"uote"]')).toEqual(['a', 'q"uote']);
    expect(() => parseJsonPath('a[x]')).toThrow("'[' at character 2 must hold a list index such as [0] or a quoted key such as [\"a.b\"]");
    expect(() => parseJsonPath('a..b')).toThrow('expected a key at character 3');
    expect(() => parseJsonPath('a[0]b')).toThrow("expected '.' or '[' at character 5");
    expect(formatJsonPath(['data', 'items', 0, 'app.kubernetes.io/name'])).toBe('data.items[0]["app.kubernetes.io/name"]');
    expect(formatJsonPath([])).toBe('$');
  });

  it('reads own properties and list indexes only', () => {
    expect(readJsonPath({ a: [{ b: 1 }] }, ['a', '0', 'b'])).toEqual({ found: true, value: 1 });
    expect(readJsonPath({ a: [1] }, ['a', 'x'])).toEqual({ found: false, missing: 1, parent: [1] });
    expect(readJsonPath({}, ['constructor'])).toMatchObject({ found: false });
    expect(readJsonPath(JSON.parse('{"__proto__":{"polluted":1}}'), ['__proto__', 'polluted'])).toEqual({ found: true, value: 1 });
    expect(readJsonPath({}, ['__proto__'])).toMatchObject({ found: false });
    expect(readJsonPath('text', ['length'])).toMatchObject({ found: false, missing: 0 });
  });

  it('describes what it found', () => {
    expect(describeJson([])).toBe('an empty list');
    expect(describeJson({})).toBe('an empty object');
    expect(describeJson(Object.fromEntries('abcdefghij'.split('').map((k) => [k, 1])))).toBe('an object with keys a, b, c, d, e, f, g, h, … (10 in all)');
    expect(describeJson('x'.repeat(100))).toBe(`the string "${'x'.repeat(57)}..."`);
    expect(describeJson(false)).toBe('boolean false');
  });
});

describe('http metric provider', () => {
  it('is registered, with defaults and checked fields', () => {
    expect(metricProviders.http.type).toBe(type);
    expect(configSchema.parse({ type, url: 'http://api/x' })).toEqual({ type, url: 'http://api/x', method: 'GET', contentType: 'application/json', timeout: 10_000 });
    expect(configSchema.safeParse({ type, url: 'http://api/x', body: '{}' }).error?.issues[0]?.message).toBe('a body is sent with method: POST only');
    expect(configSchema.safeParse({ type, url: 'http://api/x', username: 'u' }).success).toBe(false);
  });

  it('reads a number, or a string that reads as one, at a JSON path', async () => {
    expect(await metric({ url: `${base}/json` }).query('data.items[0].value', ctx())).toBe(0.25);
    expect(await metric({ url: `${base}/json` }).query('data.items[1].value', ctx())).toBe(0.5);
    expect(await metric({ url: `${base}/json` }).query('$.data.count', ctx())).toBe(3);
    expect(await metric({ url: `${base}/number` }).query('$', ctx())).toBe(42);
    expect(last?.method).toBe('GET');
  });

  it("requests through Node's HTTP client, never the global fetch (on Node 20 its first call costs about 270 ms and 39 MiB)", async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    try {
      expect(await metric({ url: `${base}/json` }).query('$.data.count', ctx())).toBe(3);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('a path that is not there, or null, is no data', async () => {
    const err = await rejection(metric({ url: `${base}/json` }).query('data.items[5].value', ctx()));
    expect(err).toBeInstanceOf(NoDataError);
    expect((err as Error).message).toBe(`http: no data: data.items[5] is not in the response of ${base}/json (data.items is a list of 2)`);
    expect(await message(metric({ url: `${base}/json` }).query('metrics.errors', ctx()))).toBe(
      `http: no data: metrics is not in the response of ${base}/json (the body is an object with keys data)`,
    );
    const nothing = await rejection(metric({ url: `${base}/json` }).query('data.nothing', ctx()));
    expect(nothing).toBeInstanceOf(NoDataError);
    expect((nothing as Error).message).toBe(`http: no data: data.nothing is null in the response of ${base}/json`);
  });

  it('anything but a number is an error naming the path and what was there', async () => {
    const status = await rejection(metric({ url: `${base}/json` }).query('data.status', ctx()));
    expect(status).not.toBeInstanceOf(NoDataError);
    expect((status as Error).message).toBe(`http: data.status in the response of ${base}/json is the string "green", not a number`);
    expect(await message(metric({ url: `${base}/json` }).query('data.ready', ctx()))).toContain('data.ready in the response of');
    expect(await message(metric({ url: `${base}/json` }).query('data.labels', ctx()))).toBe(
      `http: data.labels in the response of ${base}/json is an object with keys app.kubernetes.io/name, not a number`,
    );
    expect(await message(metric({ url: `${base}/json` }).query('data..count', ctx()))).toBe(
      "http: query 'data..count' is not a JSON path: expected a key at character 6; write it as data.items[0].value",
    );
  });

  it('says what a bad answer was, retryable when the source may recover', async () => {
    const down = await rejection(metric({ url: `${base}/down` }).query('x', ctx()));
    expect((down as ProviderError).retryable).toBe(true);
    expect((down as Error).message).toBe(`http: ${base}/down answered 503 Service Unavailable: maintenance until 10:00`);
    const gone = await rejection(metric({ url: `${base}/gone?token=abc` }).query('x', ctx()));
    expect((gone as ProviderError).retryable).toBe(false);
    expect((gone as Error).message).toBe(`http: ${base}/gone answered 404 Not Found`);
    expect(await message(metric({ url: `${base}/text` }).query('x', ctx()))).toBe(
      `http: ${base}/text answered 200 but the body is not JSON (<html>hello</html>), so 'x' cannot be read`,
    );
    expect(await message(metric({ url: `${base}/declared-large` }).query('x', ctx()))).toBe(`http: ${base}/declared-large answered more than 16 MiB; is url the right endpoint?`);
    expect(await message(metric({ url: `${base}/streamed-large` }).query('x', ctx()))).toBe(`http: ${base}/streamed-large answered more than 16 MiB; is url the right endpoint?`);
  });

  it('POSTs a body with headers, a bearer token or Basic auth', async () => {
    const headers = { 'X-Scope-OrgID': 'tenant-1', 'X-Key': { valueEnv: 'TENANT_KEY' } };
    expect(await metric({ url: `${base}/json`, method: 'POST', body: '{"q":1}', headers, bearerTokenEnv: 'API_TOKEN' }).query('data.count', ctx())).toBe(3);
    expect(last).toMatchObject({ method: 'POST', body: '{"q":1}' });
    expect(last?.headers).toMatchObject({ 'content-type': 'application/json', 'x-scope-orgid': 'tenant-1', 'x-key': SECRETS.TENANT_KEY, authorization: `Bearer ${SECRETS.API_TOKEN}` });
    await metric({ url: `${base}/json`, username: 'svc', passwordEnv: 'API_PASSWORD' }).query('data.count', ctx());
    expect(last?.headers.authorization).toBe(`Basic ${Buffer.from(`svc:${SECRETS.API_PASSWORD}`).toString('base64')}`);
    await metric({ url: base.replace('http://', 'http://us%40er:p%3Ass@') + '/json' }).query('data.count', ctx());
    expect(last?.headers.authorization).toBe(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
  });

  it('unreachable, silent or cancelled: messages name the URL, never a credential', async () => {
    const port = await freePort();
    const refused = await rejection(metric({ url: `http://user:pw-in-url@127.0.0.1:${port}/m?key=k3y`, bearerTokenEnv: 'API_TOKEN' }).query('x', ctx()));
    expect((refused as ProviderError).retryable).toBe(true);
    expect((refused as Error).message).toBe(`http: request to http://127.0.0.1:${port}/m failed: connection refused (nothing listens there: is it running, and is the port right?)`);
    const silent = await rejection(metric({ url: `${base}/hang`, timeout: '200ms' }).query('x', ctx()));
    expect((silent as ProviderError).retryable).toBe(true);
    expect((silent as Error).message).toBe(`http: no answer from ${base}/hang within 200ms (timeout); is it overloaded, or is the timeout too short?`);
    const controller = new AbortController();
    const pending = metric({ url: `${base}/hang`, timeout: '10m' }).query('x', ctx(controller.signal));
    controller.abort(new Error('step deadline'));
    expect(await message(pending)).toBe(`http: cancelled while requesting ${base}/hang`);
    expect(await message(metric({ url: `${base}/json`, bearerTokenEnv: 'UNSET' }).query('x', ctx()))).toBe(
      "http: environment variable UNSET is not set (bearerTokenEnv); export it in the CI job's secrets",
    );
    const dns = await message(metric({ url: 'http://no-such-host.invalid/x' }).query('x', ctx()));
    expect(dns).toMatch(/^http: request to http:\/\/no-such-host.invalid\/x failed: (ENOTFOUND|EAI_AGAIN): the host name does not resolve$/);
    for (const text of [(refused as Error).message, (silent as Error).message]) {
      for (const secret of [...Object.values(SECRETS), 'pw-in-url', 'k3y']) expect(text).not.toContain(secret);
    }
  });
});
