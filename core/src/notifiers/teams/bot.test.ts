import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryError } from '../../errors.js';
import { startTeamsServer, type TeamsServer } from '../../testing/teams-server.js';
import { createTeamsBot, type TeamsBotOptions, type TeamsConversationRef } from './bot.js';

/*
 * The real Agents SDK (CloudAdapter, MSAL, ConnectorClient) over real HTTP to a local server. MSAL
 * keeps its real authority (https://login.microsoftonline.com): it refuses http authorities, so
 * `server.fetch` sends that origin to the local server instead, as nock would. Each test uses a new
 * client id, since the SDK caches tokens and MSAL clients per process by client id.
 */

const TENANT = 'tenant-0000';
const CONVERSATION = '19:deploys@thread.tacv2';
const card = (text: string) => ({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text, wrap: true }] });

let server: TeamsServer;
let ref: TeamsConversationRef;
let output: string[];

beforeEach(async () => {
  server = await startTeamsServer();
  vi.stubGlobal('fetch', server.fetch);
  ref = { serviceUrl: server.serviceUrl, conversationId: CONVERSATION };
  output = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void output.push(args.map(String).join(' ')));
  }
  const write = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    output.push(String(chunk));
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  await server.close();
});

function bot(overrides: Partial<TeamsBotOptions> = {}) {
  const options = { clientId: randomUUID(), clientSecret: server.clientSecret, tenantId: TENANT, serviceHosts: ['127.0.0.1'], ...overrides };
  return { options, bot: createTeamsBot(options) };
}

/** The error an operation fails with: a DeliveryError holding neither the secret nor a token, nothing printed. */
async function failure(operation: Promise<unknown>, secret = server.clientSecret): Promise<DeliveryError> {
  const err = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeliveryError);
  const error = err as DeliveryError;
  for (const hidden of [secret, ...server.tokens()]) {
    expect(error.message).not.toContain(hidden);
    expect(JSON.stringify({ ...error, stack: error.stack })).not.toContain(hidden);
  }
  expect(error.cause).toBeUndefined();
  expect(error.message).toMatch(/^Teams bot \([\w .:-]+\): /);
  expect(output.filter((line) => !line.startsWith(' ') && !line.includes('vitest'))).toEqual([]);
  return error;
}

const byEndpoint = (endpoint: string) => server.requests.filter((r) => r.endpoint === endpoint);

describe('Teams bot through the Agents SDK against a local Entra and Bot Connector', () => {
  it('sends a card proactively, then updates the same message in place', async () => {
    const { bot: teams, options } = bot();
    const { activityId } = await teams.send(ref, card('Deploy v1.2.3 → 25% canary'));
    expect(server.activities(CONVERSATION)).toMatchObject([{ id: activityId, card: card('Deploy v1.2.3 → 25% canary'), updates: 0 }]);

    await teams.update(ref, activityId, card('Deploy v1.2.3 → 50% canary'));
    expect(server.activities(CONVERSATION)).toMatchObject([{ id: activityId, card: card('Deploy v1.2.3 → 50% canary'), updates: 1 }]);

    const [token, ...more] = byEndpoint('token');
    expect(more).toEqual([]); // one token for both calls
    expect(token?.url).toMatch(new RegExp(`^/${TENANT}/oauth2/v2\\.0/token`));
    const form = new URLSearchParams(token?.body);
    expect(Object.fromEntries(['grant_type', 'client_id', 'scope'].map((k) => [k, form.get(k)]))).toEqual({
      grant_type: 'client_credentials',
      client_id: options.clientId,
      scope: 'https://api.botframework.com/.default',
    });
    const [send] = byEndpoint('send');
    const [update] = byEndpoint('update');
    expect(send).toMatchObject({ method: 'POST', url: `/teams/v3/conversations/${CONVERSATION}/activities`, status: 201 });
    expect(update).toMatchObject({ method: 'PUT', url: `/teams/v3/conversations/${CONVERSATION}/activities/${activityId}`, status: 200 });
    for (const r of [send, update]) expect(r?.headers.authorization).toBe(`Bearer ${server.tokens()[0]}`);
    const sent = JSON.parse(send?.body ?? '') as Record<string, unknown>;
    expect(sent).toMatchObject({
      type: 'message',
      channelId: 'msteams',
      from: { id: `28:${options.clientId}` },
      conversation: { id: CONVERSATION, tenantId: TENANT },
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card('Deploy v1.2.3 → 25% canary') }],
    });
    expect(sent.replyToId).toBeUndefined();
    expect(JSON.parse(update?.body ?? '')).toMatchObject({ id: activityId, type: 'message' });
    expect(output).toEqual([]);
  });

  it('stops on credentials Entra refuses, without calling the Bot Connector', async () => {
    const wrong = 'not-the-secret-0123456789';
    const error = await failure(bot({ clientSecret: wrong }).bot.send(ref, card('x')), wrong);
    expect(error).toMatchObject({ fatal: true, retryable: false });
    expect(error.message).toContain(': not authorised: check the app id, secret and tenant (Entra answered invalid_client, AADSTS7000215)');
    expect(byEndpoint('token')).toHaveLength(1);
    expect(byEndpoint('send')).toEqual([]);
  });

  it.each([
    [401, ': not authorised: check the app id, secret and tenant (Bot Connector HTTP 401'],
    [403, ': not authorised: check the app id, secret and tenant; and that the bot is still installed in this team or chat (Bot Connector HTTP 403 BotNotInConversationRoster)'],
  ])('stops on a Bot Connector %i', async (status, message) => {
    server.fault('send', { status, ...(status === 403 ? { body: { error: { code: 'BotNotInConversationRoster', message: 'The bot is not part of the conversation roster.' } } } : {}) });
    const error = await failure(bot().bot.send(ref, card('x')));
    expect(error).toMatchObject({ fatal: true, retryable: false });
    expect(error.message).toContain(message);
  });

  it('cannot update a message that is gone: not retryable, not fatal, and says to post a new card', async () => {
    const { bot: teams } = bot();
    const { activityId } = await teams.send(ref, card('first'));
    const error = await failure(teams.update(ref, `${activityId}0`, card('second')));
    expect(error).toMatchObject({ fatal: false, retryable: false });
    expect(error.message).toContain(': cannot update the card: the message or its conversation was not found (HTTP 404 ActivityNotFound); post a new card instead');
    expect(server.activities(CONVERSATION)).toMatchObject([{ id: activityId, card: card('first'), updates: 0 }]);
    const elsewhere = await failure(teams.update({ ...ref, conversationId: '19:other@thread.tacv2' }, activityId, card('second')));
    expect(elsewhere.message).toContain('(HTTP 404 ConversationNotFound); post a new card instead');
    const none = await failure(teams.update(ref, '', card('second')));
    expect(none).toMatchObject({ fatal: false, retryable: false, message: expect.stringContaining('no activity id was given; post a new card instead') });
  });

  it('stops on a conversation that is gone when sending', async () => {
    server.fault('send', { status: 404, body: { error: { code: 'ConversationNotFound', message: 'Conversation not found.' } } });
    const error = await failure(bot().bot.send(ref, card('x')));
    expect(error).toMatchObject({ fatal: true, retryable: false });
    expect(error.message).toContain(': conversation not found (HTTP 404 ConversationNotFound): the bot was removed from it or the stored reference is stale');
  });

  it('retries throttling (429 with Retry-After, 412) and an unwell Bot Connector (502, 504)', async () => {
    const { bot: teams } = bot();
    server.fault('send', { status: 429, retryAfter: '3', body: { error: { code: 'Throttled' } } });
    const throttled = await failure(teams.send(ref, card('x')));
    expect(throttled).toMatchObject({ retryable: true, fatal: false, retryAfterMs: 3000 });
    expect(throttled.message).toContain('the Bot Connector is throttling the bot (HTTP 429 Throttled, retry after 3000 ms)');
    for (const status of [412, 502, 504]) {
      server.fault('update', { status });
      const error = await failure(teams.update(ref, '1', card('x')));
      expect(error).toMatchObject({ retryable: true, fatal: false, retryAfterMs: undefined });
      expect(error.message).toContain(`the Bot Connector is unavailable (HTTP ${status}`);
    }
  });

  it('drops a card over the bot message limit (413 MessageSizeTooBig)', async () => {
    const big = { ...card('x'), body: Array.from({ length: 1200 }, (_, i) => ({ type: 'TextBlock', text: `line ${i} ${'x'.repeat(80)}` })) };
    const error = await failure(bot().bot.send(ref, big));
    expect(error).toMatchObject({ retryable: false, fatal: false });
    expect(error.message).toMatch(/: MessageSizeTooBig \(HTTP 413\): the card is 1\d\d\.\d KB and Teams takes bot messages of about 100 KB at most/);
    expect(server.activities(CONVERSATION)).toEqual([]);
  });

  it('retries when Entra is unwell', async () => {
    server.fault('token', { status: 503, body: { error: 'temporarily_unavailable', error_description: 'AADSTS90033: try again' } });
    const error = await failure(bot().bot.send(ref, card('x')));
    expect(error).toMatchObject({ retryable: true, fatal: false });
    expect(error.message).toContain('Entra did not issue a token (temporarily_unavailable, HTTP 503)');
    server.fault('token', { down: true });
    const unreachable = await failure(bot().bot.send(ref, card('x')));
    expect(unreachable).toMatchObject({ retryable: true, fatal: false });
    expect(byEndpoint('send')).toEqual([]);
  });

  it('retries a Bot Connector that never answers (after the timeout) or drops the connection', async () => {
    server.fault('send', { hang: true });
    const hung = await failure(bot({ timeoutMs: 100 }).bot.send(ref, card('x')));
    expect(hung).toMatchObject({ retryable: true, fatal: false });
    expect(hung.message).toContain('no answer within 100 ms (the send may still have happened)');
    server.fault('send', { down: true });
    const dropped = await failure(bot().bot.send(ref, card('x')));
    expect(dropped).toMatchObject({ retryable: true, fatal: false });
    expect(dropped.message).toMatch(/network error/);
  });

  it('drops a message the Bot Connector refuses (400), and one it accepts without an id', async () => {
    const { bot: teams } = bot();
    server.fault('send', { status: 400, body: { error: { code: 'BadArgument', message: 'Unknown attachment type' } } });
    const refused = await failure(teams.send(ref, card('x')));
    expect(refused).toMatchObject({ fatal: false, retryable: false });
    expect(refused.message).toContain('the Bot Connector refused the message (HTTP 400 BadArgument)');
    server.fault('send', { status: 201, body: {} });
    const anonymous = await failure(teams.send(ref, card('x')));
    expect(anonymous).toMatchObject({ fatal: false, retryable: false });
    expect(anonymous.message).toContain('the Bot Connector gave no activity id, so this card cannot be updated later');
  });

  it('refuses an http authority (MSAL takes https only) and incomplete settings, without a request', async () => {
    const insecure = await failure(bot({ authorityHost: server.url }).bot.send(ref, card('x')));
    expect(insecure).toMatchObject({ fatal: true });
    expect(insecure.message).toContain('no token from Entra (authority_uri_insecure): check authorityHost and the tenant');
    const noSecret = await failure(bot({ clientSecret: '' }).bot.send(ref, card('x')));
    expect(noSecret).toMatchObject({ fatal: true, message: expect.stringContaining('clientId, clientSecret and tenantId are all required') });
    const noConversation = await failure(bot().bot.send({ ...ref, conversationId: '' }, card('x')));
    expect(noConversation.message).toContain('the conversation reference has no conversationId');
    const noUrl = await failure(bot().bot.send({ ...ref, serviceUrl: 'smba' }, card('x')));
    expect(noUrl.message).toBe('Teams bot (unreadable serviceUrl): the conversation reference has no readable serviceUrl');
    expect(server.requests).toEqual([]);
  });

  it('never sends its token to a serviceUrl host it was not told about, nor over plain http to a remote host', async () => {
    const strict = createTeamsBot({ clientId: randomUUID(), clientSecret: server.clientSecret, tenantId: TENANT });
    const error = await failure(strict.send(ref, card('x')));
    expect(error).toMatchObject({ fatal: true });
    expect(error.message).toContain('the serviceUrl host is not a Bot Connector host the bot may send its token to');
    const clear = await failure(bot().bot.send({ ...ref, serviceUrl: 'http://smba.trafficmanager.net/emea/' }, card('x')));
    expect(clear).toMatchObject({ fatal: true });
    expect(clear.message).toBe('Teams bot (smba.trafficmanager.net): the serviceUrl must use https (the bot token would travel in clear text)');
    expect(server.requests).toEqual([]);
  });
});
