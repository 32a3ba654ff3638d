import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { loadTestWorkflow, runTestWorkflow } from '../testing/workflows.js';
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
    if (url.pathname.startsWith('/echo/')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: url.pathname.slice('/echo/'.length), run: req.headers['x-run'] ?? null }));
      return;
    }
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

/** A probe whose provider deps hold `secrets` (what the workflow's `*Env` fields name). */
const probe = (fields: Record<string, unknown>, secrets: Record<string, string> = {}) =>
  create(configSchema.parse({ type: 'http', ...fields }), { ...deps(), secret: (name) => secrets[name] });

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

  it("requests through Node's HTTP client, never the global fetch (on Node 20 its first call costs about 270 ms and 39 MiB)", async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    try {
      expect((await probe({ url: `${base}/ok` }).check(ctx())).ok).toBe(true);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
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
    const result = await probe({ url: `${base}/slow`, timeout: '200ms' }).check(ctx());
    expect(result).toMatchObject({ ok: false, value: null, error: `no answer from ${base}/slow within 200ms` });
  });

  it('gives up after its timeout while reading the body', async () => {
    const result = await probe({ url: `${base}/slow-body`, timeout: '300ms', jsonPath: 'status' }).check(ctx());
    expect(result).toMatchObject({ ok: false, error: `no answer from ${base}/slow-body within 300ms` });
  });

  it('stops when ctx.signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await probe({ url: `${base}/slow`, timeout: '5s' }).check(ctx({ signal: controller.signal }));
    expect(result).toMatchObject({ ok: false, error: `cancelled while requesting ${base}/slow` });
    const already = await probe({ url: `${base}/ok` }).check(ctx({ signal: AbortSignal.abort() }));
    expect(already).toMatchObject({ ok: false, error: `cancelled before requesting ${base}/ok` });
  });

  it('sends a bearer token from the environment and never returns it', async () => {
    // The token comes through the provider deps, never from the command environment.
    const result = await probe({ url: `${base}/auth`, bearerTokenEnv: 'API_TOKEN' }, { API_TOKEN: 'tok-s3cret' }).check(ctx({ env: { API_TOKEN: 'from-env' } }));
    expect(result).toMatchObject({ ok: true, value: 200 });
    expect(lastHeaders.authorization).toBe('Bearer tok-s3cret');
    expect(JSON.stringify(result)).not.toContain('tok-s3cret');

    const wrong = await probe({ url: `${base}/auth`, bearerTokenEnv: 'API_TOKEN' }, { API_TOKEN: 'other-token' }).check(ctx());
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

  it('fills {{ inputs.NAME }}, {{ vars.NAME }}, {{ stage }} and {{ environment }} in the URL and headers', async () => {
    const env = {
      ROLLGATE_INPUT_REGION: 'eu-1',
      ROLLGATE_VAR_DB_HOST: 'db.internal',
      ROLLGATE_STAGE: 'canary',
      ROLLGATE_ENVIRONMENT: 'staging',
    };
    const check = (url: string, jsonPath: string) =>
      probe({ url, jsonPath, headers: { 'x-run': '{{ stage }}@{{ inputs.region }}' } }).check(ctx({ env }));
    expect(await check(`${base}/echo/{{ inputs.region }}/{{ vars.db-host }}/{{ environment }}`, 'path')).toMatchObject({
      ok: true,
      value: 'eu-1/db.internal/staging',
    });
    expect(await check(`${base}/echo/x`, 'run')).toMatchObject({ ok: true, value: 'canary@eu-1' });
  });

  it('names a placeholder without a value, and never lists the names of the runner environment variables', async () => {
    const env = { AWS_SECRET_ACCESS_KEY: 'k', RUNNER_TEMP_DIR: '/tmp/r', ROLLGATE_VAR_OTHER: 'x' };
    const results = await Promise.all([
      probe({ url: `${base}/{{ vars.nope }}` }).check(ctx({ env })),
      probe({ url: `${base}/{{ inputs.region }}` }).check(ctx({ env })),
      probe({ url: `${base}/ok`, headers: { 'x-run': '{{ stage }}' } }).check(ctx({ env })),
      probe({ url: '{{ env.AWS_SECRET_ACCESS_KEY }}/x' }).check(ctx({ env })),
    ]);
    expect(results.map((r) => [r.ok, r.error])).toEqual([
      [false, "url: '{{ vars.nope }}' has no value: the stage's environment has no variable 'nope'"],
      [false, "url: '{{ inputs.region }}' has no value: the run gave no input 'region' and it has no default"],
      [false, "headers.x-run: '{{ stage }}' has no value here"],
      [
        false,
        "url: '{{ env.AWS_SECRET_ACCESS_KEY }}' is not a placeholder rollgate fills; use {{ inputs.NAME }}, {{ vars.NAME }}, {{ stage }}, {{ environment }}",
      ],
    ]);
    for (const { error } of results) {
      for (const name of ['RUNNER_TEMP_DIR', 'ROLLGATE_VAR_OTHER', 'PATH']) expect(error).not.toContain(name);
    }
  });

  it('fills lower-case and dashed variable names in a run, so the stage it gates runs', async () => {
    const loaded = loadTestWorkflow({
      inputs: { version: { default: 'v2' }, region: { default: 'eu-1' } },
      environments: { staging: { variables: { host: base.slice('http://'.length), 'api-path': 'echo' } } },
      probes: { api: { type: 'http', url: 'http://{{ vars.host }}/{{ vars.api-path }}/{{ inputs.region }}', jsonPath: 'path' } },
      stages: [{ name: 'deploy', environment: 'staging', when: "probes.api.ok && probes.api.value == 'eu-1'", target: { type: 'sim' } }],
    });
    const { outcome, events } = await runTestWorkflow(loaded);
    const measured = events.find((e) => e.kind === 'probes.measured');
    expect(measured).toMatchObject({ snapshot: { api: { ok: true, value: 'eu-1' } } });
    expect(events.some((e) => e.kind === 'stage.skipped')).toBe(false);
    expect(outcome.exitCode).toBe(0);
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
