import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '../../errors.js';
import { startSlackServer, type SlackServer } from '../../testing/slack-server.js';
import { createSlackWebhook } from './webhook.js';

// Real fetch over real HTTP against the local Slack's incoming webhooks.
const SECRET_ID = 'T0001/B0002/s3cr3tW3bh00kP4th';
let server: SlackServer;
let url: string;
const errors: DeliveryError[] = [];

beforeEach(async () => {
  server = await startSlackServer({
    channels: [{ name: 'deploys' }, { name: 'old', archived: true }],
    webhooks: { [SECRET_ID]: 'deploys', archived: 'old', gone: 'deleted-channel', blocked: { channel: 'deploys', prohibited: true } },
  });
  url = server.webhookUrl(SECRET_ID);
});

afterEach(async () => {
  await server.close();
  // The URL is the credential: no message, stack or cause carries it, nor its secret path.
  for (const err of errors.splice(0)) {
    for (const text of [err.message, String(err.stack)]) {
      expect(text).not.toContain(url);
      expect(text).not.toContain('s3cr3tW3bh00kP4th');
      expect(text).not.toContain('127.0.0.1');
    }
    expect(err.cause).toBeUndefined();
  }
});

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const err = await promise.then(
    () => expect.fail('expected a DeliveryError'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeliveryError);
  errors.push(err as DeliveryError);
  return err as DeliveryError;
}

/** A server that answers every request the same way, for answers the local Slack never gives. */
async function answering(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const fake = createServer(handler);
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  const { port } = fake.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/services/T1/B1/s3cr3tW3bh00kP4th`, close: () => new Promise((resolve) => fake.close(() => resolve())) };
}

describe('createSlackWebhook: delivery', () => {
  it('posts JSON text and blocks to the webhook channel', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*done*' } }];
    await createSlackWebhook(url).post({ text: 'deployed web 1.2.3', blocks });
    await createSlackWebhook(url).post({ text: 'plain' });
    expect(server.messages('deploys')).toMatchObject([
      { text: 'deployed web 1.2.3', blocks, via: 'webhook' },
      { text: 'plain', via: 'webhook' },
    ]);
    expect(server.requests[0]?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(server.requests[1]?.body).toEqual({ text: 'plain' });
  });
});

describe('createSlackWebhook: refused messages (not retried, destination fine)', () => {
  it.each([
    ['invalid_payload', { text: '' }, 'Slack refused the message as malformed'],
    ['invalid_blocks', { text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) }, 'Slack refused the blocks (more than 50, or one malformed)'],
    ['msg_too_long', { text: 'x'.repeat(40_001) }, 'the text is too long'],
  ])('400 %s', async (code, msg, hint) => {
    const err = await failure(createSlackWebhook(url).post(msg));
    expect(err).toMatchObject({ retryable: false, fatal: false });
    expect(err.message).toBe(`Slack incoming webhook: HTTP 400: ${code}: ${hint}; it is not retried`);
  });

  it('another 4xx with an unreadable body is refused without quoting it', async () => {
    const fake = await answering((_req, res) => res.writeHead(401).end('<html>who are you</html>'));
    try {
      const err = await failure(createSlackWebhook(fake.url).post({ text: 'x' }));
      expect(err).toMatchObject({ retryable: false, fatal: false, message: 'Slack incoming webhook: HTTP 401: Slack refused the message; it is not retried' });
    } finally {
      await fake.close();
    }
  });
});

describe('createSlackWebhook: a webhook that cannot work (fatal)', () => {
  it.each([
    ['blocked', 403, 'action_prohibited: a Slack admin restricted posting to the channel, or the app was disabled; ask an admin or create a webhook for another channel'],
    ['gone', 404, "channel_not_found: the webhook's channel was deleted; create a webhook for another channel and update the secret"],
    ['never-made', 404, 'no_service: the webhook does not exist or was removed; create a new one and update the secret'],
    ['archived', 410, "channel_is_archived: the webhook's channel is archived; unarchive it or create a webhook for another channel"],
  ])('%s: HTTP %i', async (id, status, said) => {
    const err = await failure(createSlackWebhook(server.webhookUrl(id)).post({ text: 'x' }));
    expect(err).toMatchObject({ retryable: false, fatal: true, message: `Slack incoming webhook: HTTP ${status}: ${said}` });
  });

  it.each([
    [403, 'not allowed; check the webhook'],
    [404, 'the webhook or its channel is gone; create a new webhook and update the secret'],
  ])('HTTP %i with a body that is not a code', async (status, said) => {
    const fake = await answering((_req, res) => res.writeHead(status).end(''));
    try {
      const err = await failure(createSlackWebhook(fake.url).post({ text: 'x' }));
      expect(err).toMatchObject({ fatal: true, message: `Slack incoming webhook: HTTP ${status}: ${said}` });
    } finally {
      await fake.close();
    }
  });

  it.each(['not a url', 'ftp://hooks.example/s3cr3tW3bh00kP4th'])('an invalid URL (%s) is fatal and not echoed', async (bad) => {
    const err = await failure(createSlackWebhook(bad).post({ text: 'x' }));
    expect(err).toMatchObject({ fatal: true, message: 'Slack incoming webhook: the URL is not an http(s) URL; fix the webhook secret' });
    expect(err.message).not.toContain(bad);
  });
});

describe('createSlackWebhook: transient failures (retryable)', () => {
  it('429 with Retry-After waits exactly that long', async () => {
    server.faults.rateLimit({ retryAfterSec: 3 });
    const err = await failure(createSlackWebhook(url).post({ text: 'x' }));
    expect(err).toMatchObject({ retryable: true, fatal: false, retryAfterMs: 3000 });
    expect(err.message).toBe('Slack incoming webhook: rate limited (HTTP 429, retry after 3000 ms); will retry');
    await createSlackWebhook(url).post({ text: 'after the wait' });
    expect(server.messages('deploys')).toHaveLength(1);
  });

  it('429 without Retry-After is retryable with no wait given', async () => {
    server.faults.rateLimit({ retryAfterSec: null });
    const err = await failure(createSlackWebhook(url).post({ text: 'x' }));
    expect(err).toMatchObject({ retryable: true, retryAfterMs: undefined, message: 'Slack incoming webhook: rate limited (HTTP 429); will retry' });
  });

  it.each([
    [500, 'Slack incoming webhook: HTTP 500 (rollup_error); will retry'],
    [503, 'Slack incoming webhook: HTTP 503 (service_unavailable); will retry'],
  ])('HTTP %i', async (status, message) => {
    server.faults.serverError({ status });
    const err = await failure(createSlackWebhook(url).post({ text: 'x' }));
    expect(err).toMatchObject({ retryable: true, fatal: false, message });
  });

  it('HTTP 502 with an HTML body is not quoted', async () => {
    const fake = await answering((_req, res) => res.writeHead(502).end('<html>bad gateway</html>'));
    try {
      const err = await failure(createSlackWebhook(fake.url).post({ text: 'x' }));
      expect(err).toMatchObject({ retryable: true, message: 'Slack incoming webhook: HTTP 502; will retry' });
    } finally {
      await fake.close();
    }
  });

  it('no answer within timeoutMs is a retryable timeout', async () => {
    server.faults.hang();
    const err = await failure(createSlackWebhook(url, { timeoutMs: 200 }).post({ text: 'x' }));
    expect(err).toMatchObject({ retryable: true, fatal: false, message: 'Slack incoming webhook: no answer within 200 ms (timed out); will retry' });
  });

  it('a server that is down is a retryable network error', async () => {
    await server.faults.down();
    const err = await failure(createSlackWebhook(url).post({ text: 'x' }));
    expect(err).toMatchObject({ retryable: true, fatal: false, message: 'Slack incoming webhook: network error (ECONNREFUSED); will retry' });
  });

  it('a redirect is not followed (the URL goes nowhere else)', async () => {
    let hits = 0;
    const fake = await answering((_req, res) => {
      hits++;
      res.writeHead(302, { location: server.webhookUrl(SECRET_ID) }).end();
    });
    try {
      const err = await failure(createSlackWebhook(fake.url).post({ text: 'x' }));
      expect(err).toMatchObject({ retryable: true, message: 'Slack incoming webhook: network error; will retry' });
      expect(hits).toBe(1);
      expect(server.requests).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });
});

describe('the local Slack server: webhooks', () => {
  const raw = (body: string, type: string) => fetch(url, { method: 'POST', headers: { 'content-type': type }, body });

  it('reads a form `payload`, threads by thread_ts, and refuses what Slack refuses', async () => {
    await createSlackWebhook(url).post({ text: 'parent' });
    const [parent] = server.messages('deploys');
    const form = new URLSearchParams({ payload: JSON.stringify({ text: 'reply', thread_ts: parent?.ts }) }).toString();
    expect(await (await raw(form, 'application/x-www-form-urlencoded')).text()).toBe('ok');
    expect(server.messages('deploys')).toMatchObject([{ text: 'parent', replies: [{ text: 'reply', threadTs: parent?.ts }] }]);
    for (const body of ['{', '[]', 'null']) {
      const res = await raw(body, 'application/json');
      expect([res.status, await res.text()]).toEqual([400, 'invalid_payload']);
    }
    expect((await fetch(url)).status).toBe(405);
  });

  it('hangs only as many requests as asked', async () => {
    server.faults.hang(1);
    await failure(createSlackWebhook(url, { timeoutMs: 100 }).post({ text: 'lost' }));
    await createSlackWebhook(url).post({ text: 'kept' });
    expect(server.messages('deploys').map((m) => m.text)).toEqual(['kept']);
    expect(server.requests.map((r) => r.status)).toEqual([undefined, 200]);
  });
});
