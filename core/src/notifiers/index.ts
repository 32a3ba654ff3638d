import type { Notifier } from '../ports/notifier.js';
import type { ProviderModule } from '../registry/module.js';
import * as consoleNotifier from './console.js';
import * as slackNotifier from './slack.js';
import * as slackWebhookNotifier from './slack-webhook.js';
import * as teamsNotifier from './teams.js';
import * as teamsBotNotifier from './teams-bot.js';
import * as webhookNotifier from './webhook.js';

/** Every notifier by its `type`: the one list the schema and the docs read. */
export const notifiers = {
  console: consoleNotifier,
  slack: slackNotifier,
  'slack-webhook': slackWebhookNotifier,
  teams: teamsNotifier,
  'teams-bot': teamsBotNotifier,
  webhook: webhookNotifier,
} satisfies Record<string, ProviderModule<Notifier>>;
export type NotifierType = keyof typeof notifiers;
