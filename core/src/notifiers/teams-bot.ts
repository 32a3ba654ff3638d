import { z } from 'zod';
import { duration, envVarName } from '../config/fields.js';
import { DeliveryError } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import type { RunMessage } from '../model/run-message.js';
import type { Notifier } from '../ports/notifier.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { DEFAULT_NOTIFY_KINDS, notifierFields } from './fields.js';
import { renderTeamsCard, TEAMS_BOT_MAX_BYTES } from './render/teams-card.js';
import { createTeamsBot, type TeamsBot, type TeamsConversationRef } from './teams/bot.js';

/**
 * `teams-bot`: one Adaptive Card per run in a Teams conversation, sent proactively by your bot
 * through the Microsoft 365 Agents SDK and updated in place as the rollout goes. The card's
 * activity id is kept in the run journal, so the job that resumes after a gate updates the same
 * card. Needs an Azure Bot (single tenant) installed in the team, and the conversation reference
 * it stored (`serviceUrl` and conversation id). The SDK is loaded only when this notifier sends.
 */
export const type = 'teams-bot';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    appId: z.string().min(1).describe("The bot's Entra app (client) id"),
    tenantId: z.string().min(1).describe("The bot's Entra tenant id"),
    appPasswordEnv: envVarName("Environment variable holding the bot's client secret").default('TEAMS_APP_PASSWORD'),
    conversation: z
      .strictObject({
        serviceUrl: z.url({ protocol: /^https?$/ }).describe('The serviceUrl Teams gave with the conversation (https://smba.trafficmanager.net/…/)'),
        id: z.string().min(1).describe('The conversation id (19:…@thread.tacv2 for a channel)'),
        tenantId: z.string().min(1).optional().describe("The conversation's tenant, when not the bot's"),
      })
      .describe('Where to post: the conversation reference your bot stored when it was installed'),
    authorityHost: z.url({ protocol: /^https$/ }).optional().describe('Entra authority host, default https://login.microsoftonline.com (…microsoftonline.us for US government)'),
    serviceHosts: z.array(z.string().min(1)).optional().describe("Hosts besides Microsoft's own that serviceUrl may name (the bot's token is sent there)"),
    timeout: duration('Give up on one send or update after this long (it is retried)').prefault('30s'),
    ...notifierFields(DEFAULT_NOTIFY_KINDS),
  })
  .describe('One Adaptive Card per run, sent by your Teams bot (Microsoft 365 Agents SDK) and updated in place');
export type TeamsBotNotifierConfig = z.infer<typeof configSchema>;

/** What is kept in the journal: the card to update. */
interface CardState {
  activityId: string;
}

const isState = (v: unknown): v is CardState => typeof v === 'object' && v !== null && typeof (v as CardState).activityId === 'string';
const gone = (err: unknown) => err instanceof DeliveryError && /cannot update the card/.test(err.message);

export function create(config: TeamsBotNotifierConfig, deps: ProviderDeps): Notifier {
  const secret = deps.secret(config.appPasswordEnv);
  const ref: TeamsConversationRef = {
    serviceUrl: config.conversation.serviceUrl,
    conversationId: config.conversation.id,
    ...(config.conversation.tenantId ? { tenantId: config.conversation.tenantId } : {}),
  };
  let bot: TeamsBot | undefined;
  const client = (): TeamsBot => {
    if (!secret) throw new DeliveryError(`Teams bot: environment variable ${config.appPasswordEnv} is not set (appPasswordEnv)`, { fatal: true });
    bot ??= createTeamsBot({
      clientId: config.appId,
      clientSecret: secret,
      tenantId: config.tenantId,
      timeoutMs: config.timeout,
      ...(config.authorityHost ? { authorityHost: config.authorityHost } : {}),
      ...(config.serviceHosts ? { serviceHosts: config.serviceHosts } : {}),
    });
    return bot;
  };

  async function send(message: RunMessage): Promise<void> {
    const { activityId } = await client().send(ref, renderTeamsCard(message, TEAMS_BOT_MAX_BYTES));
    await deps.state.put({ activityId } satisfies CardState).catch(() => {});
  }

  async function update(state: CardState, message: RunMessage): Promise<void> {
    try {
      await client().update(ref, state.activityId, renderTeamsCard(message, TEAMS_BOT_MAX_BYTES));
    } catch (err) {
      if (!gone(err)) throw err;
      await send(message);
    }
  }

  return {
    type,
    destination: `conversation ${config.conversation.id.slice(0, 24)}${config.conversation.id.length > 24 ? '…' : ''}`,
    async notify(_event: RunEvent, message: RunMessage, later = false) {
      const state = deps.state.get();
      if (!isState(state)) return send(message);
      // With more messages queued behind this one, the last of them updates the card.
      if (!later) await update(state, message);
    },
    async progress(message: RunMessage) {
      const state = deps.state.get();
      if (isState(state)) await update(state, message);
    },
  };
}
