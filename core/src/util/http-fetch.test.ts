import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetch } from './http-fetch.js';

let hung: (() => void) | undefined;

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('httpFetch', () => {
  let main: { server: Server; url: string };
  let other: { server: Server; url: string };
  const seen: Array<{ path: string; method: string; auth: string | undefined; type: string | undefined; body: string; agent?: string | undefined; accept?: string | undefined }> = [];

  beforeAll(async () => {
    other = await serve((req, res) => {
      seen.push({ path: req.url ?? '', method: req.method ?? '', auth: req.headers.authorization, type: req.headers['content-type'], body: '' });
      res.end('elsewhere');
    });
    main = await serve((req, res, body) => {
      seen.push({ path: req.url ?? '', method: req.method ?? '', auth: req.headers.authorization, type: req.headers['content-type'], body, agent: req.headers['user-agent'], accept: req.headers.accept });
      const [path] = (req.url ?? '').split('?');
      if (path === '/json') return res.writeHead(201, { 'content-type': 'application/json' }).end('{"a":1}');
      if (path === '/moved') return res.writeHead(307, { location: '/json' }).end();
      if (path === '/see-other') return res.writeHead(303, { location: '/json' }).end();
      if (path === '/away') return res.writeHead(302, { location: `${other.url}/there` }).end();
      if (path === '/loop') return res.writeHead(302, { location: '/loop' }).end();
      if (path === '/gzip') return res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('zipped'));
      if (path === '/deflate') return res.writeHead(200, { 'content-encoding': 'deflate' }).end(deflateSync('deflated'));
      if (path === '/br') return res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync('brotli'));
      if (path === '/slow-body') {
        res.writeHead(200, { 'x-two': 'a' });
        res.write('first');
        return; // never ends
      }
      if (path === '/hang') return hung?.(); // never answers
      res.writeHead(404, 'Nope').end('missing');
    });
  });
  afterAll(async () => {
    for (const s of [main, other]) {
      s.server.closeAllConnections();
      await new Promise((ok) => s.server.close(ok));
    }
  });

  it('answers with status, status text, headers and body; ok is true for 2xx only', async () => {
    const json = await httpFetch(`${main.url}/json`, { headers: { 'X-Token': 't' } });
    expect([json.status, json.ok, json.headers.get('Content-Type'), await json.text()]).toEqual([201, true, 'application/json', '{"a":1}']);
    const missing = await httpFetch(`${main.url}/nothing`);
    expect([missing.status, missing.statusText, missing.ok, missing.headers.get('x-absent'), await missing.text()]).toEqual([404, 'Nope', false, null, 'missing']);
  });

  it('sends an Accept and a User-Agent unless the caller gives its own', async () => {
    seen.length = 0;
    await (await httpFetch(`${main.url}/json`)).text();
    await (await httpFetch(`${main.url}/json`, { headers: { 'User-Agent': 'rollgate-audit', Accept: 'application/json' } })).text();
    expect(seen.map((s) => [s.agent, s.accept])).toEqual([
      ['rollgate', '*/*'],
      ['rollgate-audit', 'application/json'],
    ]);
  });

  it('sends a string or form body with its length and a content type', async () => {
    seen.length = 0;
    await (await httpFetch(`${main.url}/json`, { method: 'post', body: 'x=1', headers: { 'content-type': 'text/plain' } })).text();
    await (await httpFetch(`${main.url}/json`, { method: 'POST', body: new URLSearchParams({ query: 'up == 1' }) })).text();
    expect(seen.map((s) => [s.method, s.type, s.body])).toEqual([
      ['POST', 'text/plain', 'x=1'],
      ['POST', 'application/x-www-form-urlencoded;charset=UTF-8', 'query=up+%3D%3D+1'],
    ]);
  });

  it('follows redirects: 307 keeps the method, 303 becomes a GET without the body', async () => {
    seen.length = 0;
    expect(await (await httpFetch(`${main.url}/moved`)).text()).toBe('{"a":1}');
    const after303 = await httpFetch(`${main.url}/see-other`, { method: 'POST', body: 'b', headers: { 'content-type': 'text/plain' } });
    expect(after303.status).toBe(201);
    await after303.text();
    expect(seen.map((s) => `${s.method} ${s.path} ${s.type ?? '-'}`)).toEqual(['GET /moved -', 'GET /json -', 'POST /see-other text/plain', 'GET /json -']);
  });

  it('drops Authorization when a redirect leaves the origin', async () => {
    seen.length = 0;
    const response = await httpFetch(`${main.url}/away`, { headers: { Authorization: 'Bearer secret' } });
    expect(await response.text()).toBe('elsewhere');
    expect(seen.map((s) => [s.path, s.auth])).toEqual([
      ['/away', 'Bearer secret'],
      ['/there', undefined],
    ]);
  });

  it("refuses a redirect with redirect: 'error', and a redirect loop after 20 hops", async () => {
    const refused = await httpFetch(`${main.url}/moved`, { redirect: 'error' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
    expect(((refused as Error).cause as Error).message).toBe('redirected (307), and redirects are refused');
    const loop = await httpFetch(`${main.url}/loop`).catch((e: unknown) => e);
    expect(((loop as Error).cause as Error).message).toBe('more than 20 redirects');
  });

  it('decodes gzip, deflate and br bodies', async () => {
    const texts = await Promise.all(['gzip', 'deflate', 'br'].map(async (p) => (await httpFetch(`${main.url}/${p}`)).text()));
    expect(texts).toEqual(['zipped', 'deflated', 'brotli']);
  });

  it('reads the body as chunks, and cancel() frees it', async () => {
    const response = await httpFetch(`${main.url}/json`);
    const chunks: Uint8Array[] = [];
    for await (const chunk of response.body) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('{"a":1}');
    const unread = await httpFetch(`${main.url}/slow-body`);
    expect(unread.headers.get('x-two')).toBe('a');
    await unread.body.cancel();
  });

  it("rejects with the signal's reason when it aborts before, during the wait, or while the body is read", async () => {
    const before = new AbortController();
    before.abort(new Error('stopped early'));
    await expect(httpFetch(`${main.url}/json`, { signal: before.signal })).rejects.toThrow('stopped early');

    const deadline = new AbortController();
    const arrived = new Promise<void>((ok) => (hung = ok));
    const waiting = httpFetch(`${main.url}/hang`, { signal: deadline.signal }).catch((e: unknown) => e);
    await arrived;
    deadline.abort(new DOMException('deadline passed', 'TimeoutError'));
    expect(((await waiting) as Error).name).toBe('TimeoutError');

    const reading = new AbortController();
    const response = await httpFetch(`${main.url}/slow-body`, { signal: reading.signal });
    const text = response.text();
    reading.abort(new Error('stopped while reading'));
    await expect(text).rejects.toThrow('stopped while reading');
  });

  it('an aborted body that nobody reads does not crash the process', async () => {
    const controller = new AbortController();
    const response = await httpFetch(`${main.url}/slow-body`, { signal: controller.signal });
    controller.abort(new Error('nobody listens'));
    await new Promise((ok) => setImmediate(ok));
    expect(response.status).toBe(200);
  });

  it('a network failure is a TypeError whose cause has the socket code; other protocols are refused', async () => {
    const closed = await serve(() => undefined);
    const url = closed.url;
    await new Promise((ok) => closed.server.close(ok));
    const refused = await httpFetch(`${url}/x`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
    expect(((refused as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    const ftp = await httpFetch('ftp://127.0.0.1/x').catch((e: unknown) => e);
    expect(((ftp as Error).cause as Error).message).toBe('unsupported protocol ftp:');
  });
});
