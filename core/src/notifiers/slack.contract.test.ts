import { afterAll, beforeAll } from 'vitest';
import { describeNotifierContract } from '../testing/contracts/notifier.js';
import { fakeDeps } from '../testing/fakes.js';
import { startSlackServer, type SlackServer } from '../testing/slack-server.js';
import { configSchema, create } from './slack.js';
import * as slackWebhook from './slack-webhook.js';

// The real @slack/web-api client against a local Slack; the failing destination answers 503.
let slack: SlackServer;
beforeAll(async () => {
  slack = await startSlackServer();
});
afterAll(async () => {
  await slack.close();
});
const count = () => slack.requests.filter((r) => (r.status ?? 200) === 200).length;

describeNotifierContract('slack', () => {
  const config = configSchema.parse({ type: 'slack', channel: '#deploys', apiUrl: slack.url });
  const secret = (name: string) => (name === 'SLACK_BOT_TOKEN' ? slack.token : undefined);
  return {
    deps: (states) => fakeDeps({ secret }, { states }),
    create: (deps) => create(config, deps),
    delivered: count,
    failing: (deps) => {
      slack.faults.serverError({ calls: 1, status: 503 });
      return create(config, deps);
    },
    secrets: [slack.token],
  };
});

describeNotifierContract('slack-webhook', () => {
  const config = slackWebhook.configSchema.parse({ type: 'slack-webhook' });
  return {
    deps: (states) => fakeDeps({ secret: () => slack.webhookUrl() }, { states }),
    create: (deps) => slackWebhook.create(config, deps),
    delivered: count,
    failing: (deps) => slackWebhook.create(config, { ...deps, secret: () => slack.webhookUrl('unknown') }),
    secrets: [slack.webhookUrl(), slack.webhookUrl('unknown')],
  };
});
