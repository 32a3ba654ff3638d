import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryError } from '../../errors.js';
import { startSlackServer, type SlackServer } from '../../testing/slack-server.js';
import { createSlackApi, slackApiError, type SlackApi } from './api.js';

// The real WebClient over real HTTP against the local Slack: what production runs, minus Slack.
const TOKEN = 'xoxb-1111111111-2222222222-s3cr3tT0k3nValue';
let server: SlackServer;
let api: SlackApi;
const errors: DeliveryError[] = [];

beforeEach(async () => {
  server = await startSlackServer({ token: TOKEN, channels: [{ name: 'deploys' }, { name: 'old', archived: true }] });
  api = createSlackApi({ token: TOKEN, apiUrl: server.url, timeoutMs: 10_000 });
});

afterEach(async () => {
  await server.close();
  vi.restoreAllMocks();
  // Whatever failed, the token is in no message, stack or cause.
  for (const err of errors.splice(0)) {
    for (let e: unknown = err; e !== undefined; e = (e as Error).cause) {
      expect(String((e as Error).message)).not.toContain(TOKEN);
      expect(String((e as Error).stack)).not.toContain(TOKEN);
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

describe('createSlackApi: delivery', () => {
  it('posts with the token in the Authorization header and answers the channel ID and ts', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*deploying*' } }];
    const posted = await api.post({ channel: '#deploys', text: 'deploying web 1.2.3', blocks });
    expect(posted.channel).toMatch(/^C\d{10}$/);
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    const [message] = server.messages('deploys');
    expect(message).toMatchObject({ ts: posted.ts, text: 'deploying web 1.2.3', blocks, edits: 0, via: 'api' });
    const [request] = server.requests;
    expect(request?.path).toBe('/api/chat.postMessage');
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(request?.body).toMatchObject({ channel: '#deploys', blocks });
  });

  it('updates the same message in place (channel ID and ts from the post)', async () => {
    const posted = await api.post({ channel: 'deploys', text: 'canary 10%' });
    await api.update({ ...posted, text: 'canary 50%', blocks: [{ type: 'divider' }] });
    await api.update({ ...posted, text: 'promoted' });
    const messages = server.messages('deploys');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ ts: posted.ts, text: 'promoted', blocks: [{ type: 'divider' }], edits: 2 });
    expect(messages[0]?.history.map((v) => v.text)).toEqual(['canary 10%', 'canary 50%']);
  });

  it('posts a thread reply under its parent, not at the top level', async () => {
    const parent = await api.post({ channel: 'deploys', text: 'rollout' });
    const reply = await api.post({ channel: parent.channel, text: 'step 1 done', threadTs: parent.ts });
    expect(reply.channel).toBe(parent.channel);
    const messages = server.messages('deploys');
    expect(messages).toHaveLength(1);
    expect(messages[0]?.replies).toEqual([expect.objectContaining({ ts: reply.ts, threadTs: parent.ts, text: 'step 1 done' })]);
    expect((server.requests[1]?.body as Record<string, unknown>).thread_ts).toBe(parent.ts);
  });

  it('never prints: the SDK logger is silenced even when a request fails', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => {}));
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await server.faults.down();
    await failure(api.post({ channel: 'deploys', text: 'x' }));
    for (const spy of [...spies, out]) expect(spy).not.toHaveBeenCalled();
  });
});

describe('createSlackApi: platform errors', () => {
  it('invalid_auth: a wrong token is fatal', async () => {
    const err = await failure(createSlackApi({ token: 'xoxb-wrong', apiUrl: server.url }).post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ retryable: false, fatal: true });
    expect(err.message).toBe('Slack chat.postMessage: invalid_auth: the token is not valid; check the Slack bot token (xoxb-…) given to rollgate');
  });

  it('not_authed: no token is fatal', async () => {
    const err = await failure(createSlackApi({ token: '', apiUrl: server.url }).post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ fatal: true, message: 'Slack chat.postMessage: not_authed: no token was sent; give rollgate the Slack bot token' });
  });

  it('channel_not_found is fatal and names the channel', async () => {
    const err = await failure(api.post({ channel: '#nope', text: 'x' }));
    expect(err).toMatchObject({ retryable: false, fatal: true });
    expect(err.message).toBe(
      'Slack chat.postMessage: channel_not_found: the channel #nope does not exist or the app cannot see it; invite the app or fix `channel`',
    );
  });

  it('chat.update names the channel ID it was given', async () => {
    const err = await failure(api.update({ channel: 'C9999999999', ts: '1.2', text: 'x' }));
    expect(err.message).toBe(
      'Slack chat.update: channel_not_found: the channel C9999999999 does not exist or the app cannot see it; invite the app or fix `channel`',
    );
  });

  it('is_archived is fatal', async () => {
    const err = await failure(api.post({ channel: 'old', text: 'x' }));
    expect(err).toMatchObject({ fatal: true, message: 'Slack chat.postMessage: is_archived: the channel #old is archived; unarchive it or change `channel`' });
  });

  it.each([
    ['account_inactive', 'the token belongs to a deactivated user or an uninstalled app; reinstall the app and update the token'],
    ['token_revoked', 'the token was revoked; reinstall the app and update the token'],
    ['token_expired', 'the token has expired; rotate it and update the token'],
    ['not_in_channel', 'the app is not a member of the channel #deploys; invite it (/invite @app) or fix `channel`'],
    ['missing_scope', 'the token lacks the scope this call needs (chat:write); add it under OAuth & Permissions and reinstall the app'],
    ['restricted_action', 'the workspace does not let the app post in the channel #deploys; ask a Slack admin or change `channel`'],
    ['team_access_not_granted', 'the token has no access to this workspace; install the app in it'],
  ])('%s is fatal with what to do', async (code, hint) => {
    server.faults.platformError(code);
    const err = await failure(api.post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ retryable: false, fatal: true, message: `Slack chat.postMessage: ${code}: ${hint}` });
  });

  it('missing_scope names the scope Slack says is needed', async () => {
    server.faults.platformError('missing_scope', 1, { needed: 'chat:write', provided: 'channels:read' });
    const err = await failure(api.post({ channel: 'deploys', text: 'x' }));
    expect(err.message).toBe('Slack chat.postMessage: missing_scope: the token lacks the scope chat:write; add it under OAuth & Permissions and reinstall the app');
  });

  it('msg_too_long refuses this message only', async () => {
    const err = await failure(api.post({ channel: 'deploys', text: 'x'.repeat(40_001) }));
    expect(err).toMatchObject({ retryable: false, fatal: false });
    expect(err.message).toBe('Slack chat.postMessage: msg_too_long: the text is over 40,000 characters; it is not retried');
  });

  it('invalid_blocks (more than 50) refuses this message only', async () => {
    const blocks = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    const err = await failure(api.post({ channel: 'deploys', text: 'x', blocks }));
    expect(err).toMatchObject({ retryable: false, fatal: false });
    expect(err.message).toBe('Slack chat.postMessage: invalid_blocks: Slack refused the blocks (more than 50, or one malformed); it is not retried');
  });

  it('message_not_found on an update refuses that update only', async () => {
    const { channel } = await api.post({ channel: 'deploys', text: 'x' });
    const err = await failure(api.update({ channel, ts: '1700000099.000100', text: 'y' }));
    expect(err).toMatchObject({ retryable: false, fatal: false });
    expect(err.message).toBe('Slack chat.update: message_not_found: the message to update is gone (deleted, or a wrong ts); it is not retried');
  });

  it.each([
    ['cant_update_message', 'the app may only update messages it posted'],
    ['edit_window_closed', 'the message is too old to edit'],
    ['no_text', 'the message has neither text nor blocks'],
    ['thread_not_found', 'the parent message of the thread reply is gone'],
    ['invalid_blocks_format', 'the blocks are not a JSON array of blocks'],
    ['some_future_error', 'Slack refused the message'],
  ])('%s refuses the message, not the destination', async (code, hint) => {
    server.faults.platformError(code);
    const err = await failure(api.update({ channel: 'C0000000001', ts: '1.1', text: 'x' }));
    expect(err).toMatchObject({ retryable: false, fatal: false, message: `Slack chat.update: ${code}: ${hint}; it is not retried` });
  });

  it("Slack's transient errors are retried", async () => {
    server.faults.platformError('internal_error');
    const err = await failure(api.post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ retryable: true, fatal: false, message: 'Slack chat.postMessage: internal_error: a passing Slack error; will retry' });
  });

  it('an answer that is not Slack JSON is retried without quoting it', async () => {
    server.faults.platformError('<html>proxy login</html>');
    const err = await failure(api.post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ retryable: true, message: "Slack chat.postMessage: the answer is not Slack's JSON; check `apiUrl` and any proxy; will retry" });
  });
});

describe('createSlackApi: transport errors', () => {
  it('429 with Retry-After: retryable after exactly that wait, and the SDK does not retry or wait itself', async () => {
    server.faults.rateLimit({ calls: 1, retryAfterSec: 7 });
    const err = await failure(api.post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ retryable: true, fatal: false, retryAfterMs: 7000 });
    expect(err.message).toBe('Slack chat.postMessage: rate limited (HTTP 429), retry after 7000 ms');
    expect(server.requests).toHaveLength(1);
    await expect(api.post({ channel: 'deploys', text: 'x' })).resolves.toMatchObject({ channel: 'C0000000001' });
  });

  it('429 without a usable Retry-After is retryable with no wait given', async () => {
    server.faults.rateLimit({ retryAfterSec: null });
    const err = await failure(api.post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ retryable: true, retryAfterMs: undefined });
    expect(err.message).toBe('Slack chat.postMessage: rate limited (HTTP 429, no usable Retry-After); will retry');
  });

  it.each([500, 503])('HTTP %i is retryable, tried once', async (status) => {
    server.faults.serverError({ status });
    const err = await failure(api.post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ retryable: true, fatal: false, message: `Slack chat.postMessage: HTTP ${status}` });
    expect(server.requests).toHaveLength(1);
  });

  it('a wrong apiUrl (HTTP 404) is fatal', async () => {
    const wrong = createSlackApi({ token: TOKEN, apiUrl: server.url.replace('/api/', '/v2') });
    const err = await failure(wrong.post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ fatal: true, message: 'Slack chat.postMessage: HTTP 404 (destination not found)' });
    expect(server.requests[0]?.path).toBe('/v2/chat.postMessage');
  });

  it('no answer within timeoutMs is a retryable timeout', async () => {
    server.faults.hang();
    const err = await failure(createSlackApi({ token: TOKEN, apiUrl: server.url, timeoutMs: 200 }).update({ channel: 'C0000000001', ts: '1.1', text: 'x' }));
    expect(err).toMatchObject({ retryable: true, fatal: false, message: 'Slack chat.update: no answer within 200 ms (timed out); will retry' });
  });

  it('a server that is down is a retryable network error, and works again once up', async () => {
    await server.faults.down();
    const err = await failure(api.post({ channel: 'deploys', text: 'x' }));
    expect(err).toMatchObject({ retryable: true, fatal: false, message: 'Slack chat.postMessage: network error (ECONNREFUSED); will retry' });
    await server.faults.up();
    await expect(api.post({ channel: 'deploys', text: 'back' })).resolves.toMatchObject({ channel: 'C0000000001' });
  });

  it('an answer without channel or ts is refused', async () => {
    const fake = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const { port } = fake.address() as AddressInfo;
    try {
      const err = await failure(createSlackApi({ token: TOKEN, apiUrl: `http://127.0.0.1:${port}/api` }).post({ channel: 'deploys', text: 'x' }));
      expect(err).toMatchObject({ retryable: false, fatal: false });
      expect(err.message).toBe('Slack chat.postMessage: the answer has no channel or ts; check that `apiUrl` is a Slack Web API');
    } finally {
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it('blocks that cannot be serialised are refused without a request', async () => {
    const err = await failure(api.post({ channel: 'deploys', text: 'x', blocks: [{ type: 'section', n: 1n }] }));
    expect(err).toMatchObject({ retryable: false, message: 'Slack chat.postMessage: the call could not be made (TypeError); it is not retried' });
    expect(server.requests).toHaveLength(0);
  });

  it('anything else thrown is named by its type only', () => {
    expect(slackApiError('chat.update', 'C1', 'boom', 1).message).toBe('Slack chat.update: the call could not be made (string); it is not retried');
  });
});

describe('the local Slack server itself', () => {
  const call = async (method: string, body: unknown, auth: string | null = TOKEN, type = 'application/json') =>
    (await fetch(`${server.url}${method}`, {
      method: 'POST',
      headers: { 'content-type': type, ...(auth === null ? {} : { authorization: `Bearer ${auth}` }) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }).then((r) => r.json())) as Record<string, unknown>;

  it('speaks JSON and form bodies, with the token in the header or the form', async () => {
    const id = server.workspace.resolve('deploys');
    expect(await call('chat.postMessage', { channel: id, text: 'json' })).toMatchObject({ ok: true, channel: id, message: { text: 'json' } });
    const form = new URLSearchParams({ token: TOKEN, channel: 'deploys', text: 'form', blocks: 'not json' }).toString();
    expect(await call('chat.postMessage', form, null, 'application/x-www-form-urlencoded')).toEqual({ ok: false, error: 'invalid_blocks' });
    expect(await call('chat.postMessage', { channel: 'deploys', text: 'x' }, null)).toEqual({ ok: false, error: 'not_authed' });
    expect(await call('chat.postMessage', '{', TOKEN)).toEqual({ ok: false, error: 'invalid_json' });
    expect(await call('chat.postMessage', { channel: 'deploys' })).toEqual({ ok: false, error: 'no_text' });
    expect(await call('chat.delete', { channel: 'deploys' })).toEqual({ ok: false, error: 'unknown_method' });
    expect((await fetch(server.url + 'chat.postMessage')).status).toBe(405);
    expect((await fetch(server.url.replace('/api/', '/other'), { method: 'POST' })).status).toBe(404);
  });

  it('threads, updates and channels behave as Slack documents', async () => {
    const parent = await api.post({ channel: 'deploys', text: 'p', blocks: [{ type: 'divider' }] });
    const reply = await api.post({ channel: 'deploys', text: 'r1', threadTs: parent.ts });
    await api.post({ channel: 'deploys', text: 'r2', threadTs: reply.ts }); // a reply's ts: still the parent's thread
    expect(server.messages(parent.channel)[0]?.replies.map((m) => m.text)).toEqual(['r1', 'r2']);
    expect(await call('chat.postMessage', { channel: 'deploys', text: 'x', thread_ts: '1.0' })).toEqual({ ok: false, error: 'thread_not_found' });
    expect(await call('chat.update', { channel: 'deploys', ts: parent.ts, text: 'x' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(await call('chat.update', { channel: parent.channel, ts: parent.ts, text: 'cleared', blocks: [] })).toMatchObject({ ok: true, text: 'cleared' });
    expect(server.messages('deploys')[0]).toMatchObject({ history: [{ text: 'p', blocks: [{ type: 'divider' }] }] });
    expect(server.messages('deploys')[0]?.blocks).toBeUndefined();
    expect(await call('chat.update', { channel: parent.channel, ts: parent.ts, blocks: [{ type: 'divider' }] })).toMatchObject({ ok: true, text: 'cleared' });
    expect(await call('chat.postMessage', { channel: 'deploys', text: 'x', blocks: [null] })).toEqual({ ok: false, error: 'invalid_blocks' });
    expect(await call('chat.postMessage', { channel: 'deploys', text: 'x', blocks: {} })).toEqual({ ok: false, error: 'invalid_blocks' });
    expect(server.workspace.addChannel({ name: '#deploys' })).toBe(parent.channel);
    server.workspace.archive('deploys');
    expect(await call('chat.update', { channel: parent.channel, ts: parent.ts, text: 'x' })).toEqual({ ok: false, error: 'is_archived' });
    server.workspace.removeChannel('deploys');
    expect(() => server.messages('deploys')).toThrow('slack-server: no channel deploys');
  });

  it('rate limits for a period, and per channel at 1 message per second, on its own clock', async () => {
    let now = 0;
    const timed = await startSlackServer({ token: TOKEN, now: () => now, perChannelLimit: true });
    const slack = createSlackApi({ token: TOKEN, apiUrl: timed.url });
    try {
      await slack.post({ channel: 'deploys', text: '1' });
      expect((await failure(slack.post({ channel: 'deploys', text: '2' }))).retryAfterMs).toBe(1000);
      now = 1000;
      await slack.post({ channel: 'deploys', text: '2' });
      timed.faults.rateLimit({ forMs: 5000, retryAfterSec: 5 });
      now = 5999;
      expect((await failure(slack.update({ channel: 'C0000000001', ts: '1.1', text: 'x' }))).retryAfterMs).toBe(5000);
      now = 6000;
      timed.faults.perChannelLimit(false);
      await slack.post({ channel: 'deploys', text: '3' });
      await slack.post({ channel: 'deploys', text: '4' });
      timed.faults.hang(1);
      timed.faults.serverError({ calls: 2 });
      timed.faults.clear();
      await slack.post({ channel: 'deploys', text: '5' });
      expect(timed.messages('deploys').map((m) => m.text)).toEqual(['1', '2', '3', '4', '5']);
      expect(timed.requests.map((r) => [r.at, r.status])).toEqual([[0, 200], [0, 429], [1000, 200], [5999, 429], [6000, 200], [6000, 200], [6000, 200]]);
    } finally {
      await timed.close();
    }
  });
});
