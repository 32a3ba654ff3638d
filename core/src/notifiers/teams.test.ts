import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryError } from '../errors.js';
import { checkAdaptiveCard } from '../testing/adaptive-card.js';
import { sampleNotifications } from '../testing/contracts/notifier.js';
import { fakeDeps } from '../testing/fakes.js';
import { MemoryProviderStates } from '../testing/state.js';
import { startTeamsServer, type TeamsServer } from '../testing/teams-server.js';
import * as teams from './teams.js';
import * as teamsBot from './teams-bot.js';

/*
 * The Teams notifiers over real HTTP: Workflows cards checked with the adaptivecards library and
 * Teams' own rules; the bot through the real Agents SDK (MSAL's login host sent to the local
 * server by `server.fetch`, as nock would), its card updated in place by a later process.
 */
let server: TeamsServer;
beforeEach(async () => {
  server = await startTeamsServer();
  vi.stubGlobal('fetch', server.fetch);
});
afterEach(async () => {
  vi.unstubAllGlobals();
  await server.close();
});

const notifications = sampleNotifications();
const byKind = (kind: string) => notifications.find((n) => n.event.kind === kind) as (typeof notifications)[number];
const CONVERSATION = '19:deploys@thread.tacv2';

function workflowNotifier(url = server.workflowUrl()) {
  return teams.create(teams.configSchema.parse({ type: 'teams' }), fakeDeps({ secret: (n) => (n === 'TEAMS_WEBHOOK_URL' ? url : undefined) }));
}

function botNotifier(states = new MemoryProviderStates(), clientId = randomUUID(), secret: string | undefined = server.clientSecret) {
  const config = teamsBot.configSchema.parse({
    type: 'teams-bot',
    appId: clientId,
    tenantId: 'tenant-0000',
    conversation: { serviceUrl: server.serviceUrl, id: CONVERSATION },
    serviceHosts: ['127.0.0.1'],
  });
  return teamsBot.create(config, fakeDeps({ secret: (n) => (n === 'TEAMS_APP_PASSWORD' ? secret : undefined) }, { states, key: 'notifier/0' }));
}

describe('teams notifier (Workflows webhook)', () => {
  it('posts a valid Adaptive Card 1.5 with the run’s context for each event, naming only the host', async () => {
    const n = workflowNotifier();
    expect(n.destination).toMatch(/^Teams workflow at 127\.0\.0\.1:\d+$/);
    await n.notify(byKind('run.started').event, byKind('run.started').message);
    await n.notify(byKind('run.finished').event, byKind('run.finished').message);
    const cards = server.cards();
    expect(cards).toHaveLength(2);
    for (const card of cards) expect(checkAdaptiveCard(card as object)).toEqual([]);
    expect(JSON.stringify(cards[1])).toContain('✗ error-rate 12% [result < 0.05] failed');
  });

  it('an oversize run still posts: the card shrinks under the 28 KB limit and says what it left out', async () => {
    const { event, message } = byKind('run.finished');
    const stage = message.stages[0] as NonNullable<(typeof message.stages)[0]>;
    const huge = { ...message, stages: Array.from({ length: 80 }, (_, i) => ({ ...stage, name: `s${i}`, failure: { reason: 'x'.repeat(900), output: ['y'.repeat(900)] } })) };
    await workflowNotifier().notify(event, huge);
    const [card] = server.cards();
    expect(checkAdaptiveCard(card as object)).toEqual([]);
    expect(JSON.stringify(card)).toContain('earlier stage(s) not shown');
  });

  it('refuses a retired Office 365 connector URL, saying what to use instead, without quoting it', async () => {
    const retired = 'https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456';
    const err = (await workflowNotifier(retired)
      .notify(byKind('run.started').event, byKind('run.started').message)
      .catch((e: unknown) => e)) as DeliveryError;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.fatal).toBe(true);
    expect(err.message).toMatch(/retired/i);
    expect(err.message).toMatch(/create a workflow from the "Send webhook alerts to a channel" template in Teams/);
    expect(err.message).not.toContain('IncomingWebhook/123');
  });

  it('is fatal without its URL, naming the variable', async () => {
    const n = teams.create(teams.configSchema.parse({ type: 'teams' }), fakeDeps());
    expect(n.destination).toBe('TEAMS_WEBHOOK_URL (not set)');
    await expect(n.notify(byKind('run.started').event, byKind('run.started').message)).rejects.toMatchObject({
      fatal: true,
      message: 'Teams: environment variable TEAMS_WEBHOOK_URL is not set (urlEnv)',
    });
  });
});

describe('teams-bot notifier (Agents SDK)', () => {
  it('sends one card and updates it in place; a later process updates the same card from the journal', async () => {
    const states = new MemoryProviderStates();
    const clientId = randomUUID();
    await botNotifier(states, clientId).notify(byKind('run.started').event, byKind('run.started').message);
    const kept = states.handle('notifier/0').get() as { activityId: string };
    expect(kept.activityId).toEqual(expect.any(String));
    const later = botNotifier(states.reopen(), clientId);
    await later.progress?.(byKind('weight.changed').message);
    await later.notify(byKind('run.finished').event, byKind('run.finished').message);
    const [activity, ...others] = server.activities(CONVERSATION);
    expect(others).toEqual([]);
    expect(activity?.id).toBe(kept.activityId);
    expect(activity?.updates).toBe(2);
    expect(checkAdaptiveCard(activity?.card as object, { maxBytes: 80 * 1024 })).toEqual([]);
    expect(JSON.stringify(activity?.card)).toContain('Rollback INCOMPLETE, left: route/web');
  });

  it('sends a new card when the one it kept is gone', async () => {
    const states = new MemoryProviderStates();
    await states.handle('notifier/0').put({ activityId: 'gone-activity' });
    await botNotifier(states).notify(byKind('run.finished').event, byKind('run.finished').message);
    expect(server.activities(CONVERSATION)).toHaveLength(1);
    expect(states.handle('notifier/0').get()).not.toEqual({ activityId: 'gone-activity' });
  });

  it('a wrong secret is fatal and said without the secret; a missing one names the variable', async () => {
    server.fault('token', { status: 401, body: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' } });
    const err = (await botNotifier(undefined, undefined, 'not-the-secret')
      .notify(byKind('run.started').event, byKind('run.started').message)
      .catch((e: unknown) => e)) as DeliveryError;
    expect(err.fatal).toBe(true);
    expect(err.message).toMatch(/not authorised: check the app id, secret and tenant/);
    expect(err.message).not.toContain('not-the-secret');
    const missing = botNotifier(undefined, undefined, '');
    await expect(missing.notify(byKind('run.started').event, byKind('run.started').message)).rejects.toMatchObject({
      fatal: true,
      message: 'Teams bot: environment variable TEAMS_APP_PASSWORD is not set (appPasswordEnv)',
    });
  });
});
