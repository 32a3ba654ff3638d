import { z } from 'zod';
import { duration, envVarName } from '../config/fields.js';
import type { RunEvent } from '../model/events.js';
import type { RunMessage } from '../model/run-message.js';
import type { Notifier } from '../ports/notifier.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { DEFAULT_NOTIFY_KINDS, notifierFields } from './fields.js';
import { renderSlack } from './render/slack-blocks.js';
import { createSlackWebhook } from './slack/webhook.js';
import { DeliveryError } from '../errors.js';

/**
 * `slack-webhook`: a Slack incoming webhook, for teams without a Slack app token. It can only
 * post (no update in place, no threads): each event it wants is a message of its own, with the
 * same context as the `slack` notifier's. The URL is a secret, read from the environment.
 */
export const type = 'slack-webhook';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    urlEnv: envVarName('Environment variable holding the webhook URL (https://hooks.slack.com/services/…)').default('SLACK_WEBHOOK_URL'),
    timeout: duration('Give up on one post after this long (it is retried)').prefault('10s'),
    ...notifierFields(DEFAULT_NOTIFY_KINDS),
  })
  .describe('Posts each event to a Slack incoming webhook (post only: use `slack` to update one message in place)');
export type SlackWebhookNotifierConfig = z.infer<typeof configSchema>;

export function create(config: SlackWebhookNotifierConfig, deps: ProviderDeps): Notifier {
  const url = deps.secret(config.urlEnv);
  const hook = url ? createSlackWebhook(url, { timeoutMs: config.timeout }) : undefined;
  return {
    type,
    destination: `incoming webhook in ${config.urlEnv}`,
    async notify(_event: RunEvent, message: RunMessage) {
      if (!hook) throw new DeliveryError(`Slack incoming webhook: environment variable ${config.urlEnv} is not set (urlEnv)`, { fatal: true });
      await hook.post(renderSlack(message));
    },
  };
}
