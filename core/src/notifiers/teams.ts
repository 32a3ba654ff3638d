import { z } from 'zod';
import { duration, envVarName } from '../config/fields.js';
import { DeliveryError } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import type { RunMessage } from '../model/run-message.js';
import type { Notifier } from '../ports/notifier.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { DEFAULT_NOTIFY_KINDS, notifierFields } from './fields.js';
import { renderTeamsCard, TEAMS_WORKFLOW_MAX_BYTES } from './render/teams-card.js';
import { createTeamsWorkflowWebhook, describeWebhookUrl } from './teams/workflow-webhook.js';

/**
 * `teams`: an Adaptive Card (1.5) per event it wants, posted to a Teams Workflows webhook ("Send
 * webhook alerts to a channel"). Workflows can only post, so each event is a card of its own with
 * the run's whole context; use `teams-bot` to update one card in place. Retired Office 365
 * connector URLs are recognised and refused with what to do instead. The URL is a secret.
 */
export const type = 'teams';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    urlEnv: envVarName('Environment variable holding the Workflows webhook URL (…logic.azure.com… or …powerplatform.com…)').default('TEAMS_WEBHOOK_URL'),
    timeout: duration('Give up on one post after this long (it is retried)').prefault('10s'),
    ...notifierFields(DEFAULT_NOTIFY_KINDS),
  })
  .describe('Posts an Adaptive Card per event to a Microsoft Teams Workflows webhook');
export type TeamsNotifierConfig = z.infer<typeof configSchema>;

export function create(config: TeamsNotifierConfig, deps: ProviderDeps): Notifier {
  const url = deps.secret(config.urlEnv);
  const hook = url ? createTeamsWorkflowWebhook(url, { timeoutMs: config.timeout }) : undefined;
  return {
    type,
    destination: url ? describeWebhookUrl(url) : `${config.urlEnv} (not set)`,
    async notify(_event: RunEvent, message: RunMessage) {
      if (!hook) throw new DeliveryError(`Teams: environment variable ${config.urlEnv} is not set (urlEnv)`, { fatal: true });
      await hook.post(renderTeamsCard(message, TEAMS_WORKFLOW_MAX_BYTES));
    },
  };
}
