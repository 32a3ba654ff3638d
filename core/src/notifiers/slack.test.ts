import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '../errors.js';
import { fakeDeps } from '../testing/fakes.js';
import { sampleNotifications } from '../testing/contracts/notifier.js';
import { startSlackServer, type SlackServer } from '../testing/slack-server.js';
import { MemoryProviderStates } from '../testing/state.js';
import { configSchema, create } from './slack.js';
import * as slackWebhook from './slack-webhook.js';

let slack: SlackServer;
beforeEach(async () => {
  slack = await startSlackServer({ channels: [{ name: 'deploys', id: 'C0DEPLOY01' }, { name: 'old', archived: true }] });
});
afterEach(async () => {
  await slack.close();
});

const notifications = sampleNotifications();
const byKind = (kind: string) => notifications.find((n) => n.event.kind === kind) as (typeof notifications)[number];

function slackNotifier(fields: Record<string, unknown> = {}, states = new MemoryProviderStates(), token = slack.token) {
  const config = configSchema.parse({ type: 'slack', channel: '#deploys', apiUrl: slack.url, ...fields });
  return create(config, fakeDeps({ secret: (name) => (name === 'SLACK_BOT_TOKEN' ? token : undefined) }, { states, key: 'notifier/0' }));
}

describe('slack notifier', () => {
  it('posts one message, updates it in place as the run goes, and puts the details in its thread', async () => {
    const n = slackNotifier();
    for (const kind of ['run.started', 'rollback.started', 'manual-intervention.required', 'run.finished']) await n.notify(byKind(kind).event, byKind(kind).message);
    const [message, ...others] = slack.messages('#deploys');
    expect(others).toEqual([]);
    expect(message?.edits).toBe(3);
    expect(message?.text).toBe('✗ web: v1 → v2 to production (canary): rolled back\n  run run-1 rolled-back: web rolled back');
    expect(JSON.stringify(message?.blocks)).toContain('✗ error-rate 12% [result &lt; 0.05] failed');
    expect(message?.replies.map((r) => r.text)).toEqual([
      ':warning: web: rolling back (2 steps) because error rate 12% &gt; 5%',
      ':x: web: MANUAL INTERVENTION REQUIRED: route/web',
      ':x: run run-1 rolled-back: web rolled back',
    ]);
  });

  it('a later process updates the same message from the reference kept in the journal', async () => {
    const states = new MemoryProviderStates();
    await slackNotifier({}, states).notify(byKind('run.started').event, byKind('run.started').message);
    expect(states.handle('notifier/0').get()).toEqual({ channel: 'C0DEPLOY01', ts: expect.stringMatching(/^\d+\.\d+$/) });
    const later = slackNotifier({}, states.reopen());
    await later.notify(byKind('run.finished').event, byKind('run.finished').message);
    expect(slack.messages('#deploys')).toHaveLength(1);
    expect(slack.messages('#deploys')[0]?.edits).toBe(1);
  });

  it('follows progress by updating the message, never by posting one', async () => {
    const n = slackNotifier({ threads: false });
    await n.progress?.(byKind('weight.changed').message);
    expect(slack.messages('#deploys')).toEqual([]);
    await n.notify(byKind('run.started').event, byKind('run.started').message);
    await n.progress?.(byKind('weight.changed').message);
    await n.notify(byKind('run.finished').event, byKind('run.finished').message);
    const [message] = slack.messages('#deploys');
    expect(message?.edits).toBe(2);
    expect(message?.replies).toEqual([]);
    expect(JSON.stringify(message?.history[1]?.blocks)).toContain('20% of traffic');
  });

  it('posts a new message when the one it kept was deleted', async () => {
    const states = new MemoryProviderStates();
    await states.handle('notifier/0').put({ channel: 'C0DEPLOY01', ts: '1.000001' });
    await slackNotifier({}, states).notify(byKind('run.finished').event, byKind('run.finished').message);
    expect(slack.messages('#deploys')).toHaveLength(1);
    expect(states.handle('notifier/0').get()).not.toEqual({ channel: 'C0DEPLOY01', ts: '1.000001' });
  });

  it.each([
    ['an invalid token', () => slackNotifier({}, undefined, 'xoxb-wrong-token'), /^Slack chat\.postMessage: invalid_auth/, true],
    ['a channel that does not exist', () => slackNotifier({ channel: '#nope' }), /channel_not_found: the channel #nope does not exist or the app cannot see it/, true],
    ['an archived channel', () => slackNotifier({ channel: '#old' }), /is_archived/, true],
  ] as const)('%s is fatal, said without the token', async (_, make, message, fatal) => {
    const err = (await make()
      .notify(byKind('run.started').event, byKind('run.started').message)
      .catch((e: unknown) => e)) as DeliveryError;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.fatal).toBe(fatal);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(slack.token);
    expect(err.message).not.toContain('xoxb-wrong-token');
  });

  it('is fatal without its token, naming the variable', async () => {
    const n = create(configSchema.parse({ type: 'slack', channel: '#deploys', apiUrl: slack.url }), fakeDeps());
    await expect(n.notify(byKind('run.started').event, byKind('run.started').message)).rejects.toMatchObject({
      fatal: true,
      message: 'Slack: environment variable SLACK_BOT_TOKEN is not set (tokenEnv)',
    });
  });

  it('a 429 is retryable with the wait Slack asks for', async () => {
    slack.faults.rateLimit({ calls: 1, retryAfterSec: 7 });
    const err = (await slackNotifier()
      .notify(byKind('run.started').event, byKind('run.started').message)
      .catch((e: unknown) => e)) as DeliveryError;
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 7000 });
  });

  it('an oversize run still posts: the message is cut to Slack’s limits with a marker, not refused', async () => {
    const { message, event } = byKind('run.finished');
    const huge = { ...message, text: 'x'.repeat(60_000), stages: Array.from({ length: 60 }, (_, i) => ({ ...(message.stages[0] as NonNullable<(typeof message.stages)[0]>), name: `s${i}` })) };
    await slackNotifier().notify(event, huge);
    const [posted] = slack.messages('#deploys');
    expect(posted?.blocks?.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(posted?.blocks)).toContain('… (truncated)');
  });
});

describe('slack-webhook notifier', () => {
  it('posts each event as a message of its own, with the same context', async () => {
    const config = slackWebhook.configSchema.parse({ type: 'slack-webhook' });
    const n = slackWebhook.create(config, fakeDeps({ secret: (name) => (name === 'SLACK_WEBHOOK_URL' ? slack.webhookUrl() : undefined) }));
    expect(n.destination).toBe('incoming webhook in SLACK_WEBHOOK_URL');
    await n.notify(byKind('run.started').event, byKind('run.started').message);
    await n.notify(byKind('run.finished').event, byKind('run.finished').message);
    const messages = slack.messages('#deploys');
    expect(messages.map((m) => m.via)).toEqual(['webhook', 'webhook']);
    expect(JSON.stringify(messages[1]?.blocks)).toContain('Rollback INCOMPLETE, left: route/web');
  });

  it('is fatal without its URL, and when the webhook was removed, never quoting the URL', async () => {
    const config = slackWebhook.configSchema.parse({ type: 'slack-webhook', urlEnv: 'HOOK' });
    await expect(slackWebhook.create(config, fakeDeps()).notify(byKind('run.started').event, byKind('run.started').message)).rejects.toMatchObject({
      fatal: true,
      message: 'Slack incoming webhook: environment variable HOOK is not set (urlEnv)',
    });
    const gone = slack.webhookUrl('removed');
    const err = (await slackWebhook
      .create(config, fakeDeps({ secret: () => gone }))
      .notify(byKind('run.started').event, byKind('run.started').message)
      .catch((e: unknown) => e)) as DeliveryError;
    expect(err.fatal).toBe(true);
    expect(err.message).not.toContain(gone);
  });
});
