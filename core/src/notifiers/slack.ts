import { z } from 'zod';
import { duration, envVarName } from '../config/fields.js';
import { DeliveryError } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import type { RunMessage } from '../model/run-message.js';
import type { Notifier } from '../ports/notifier.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { DEFAULT_NOTIFY_KINDS, notifierFields } from './fields.js';
import { renderSlack, renderSlackDetail } from './render/slack-blocks.js';
import type { SlackApi } from './slack/api.js';

/** Slack's Web API; the client library is loaded only when a Slack notifier sends (start-up memory). */
const SLACK_API_URL = 'https://slack.com/api/';

/**
 * `slack`: one message per run in a channel, posted at the first event it wants and updated in
 * place (`chat.update`) as the rollout goes; each event it wants is also a reply in the message's
 * thread, with the details. The message's channel ID and `ts` are kept in the run journal, so the
 * job that resumes after a gate, in another process, updates the same message.
 */
export const type = 'slack';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    channel: z.string().min(1).describe('Channel name (#deploys) or ID (C0123…); the app must be in it (chat:write)'),
    tokenEnv: envVarName('Environment variable holding the bot token (xoxb-…)').default('SLACK_BOT_TOKEN'),
    apiUrl: z.url({ protocol: /^https?$/ }).optional().describe(`Web API base, default ${SLACK_API_URL} (a proxy, or a local server in tests)`),
    threads: z.boolean().default(true).describe('Post each event as a reply in the message thread, besides updating the message'),
    timeout: duration('Give up on one API call after this long (it is retried)').prefault('10s'),
    ...notifierFields(DEFAULT_NOTIFY_KINDS),
  })
  .describe('One Slack message per run, updated in place as the rollout goes, with details in its thread');
export type SlackNotifierConfig = z.infer<typeof configSchema>;

/** What is kept in the journal: the message to update. */
interface SlackState {
  channel: string;
  ts: string;
}

const isState = (v: unknown): v is SlackState => typeof v === 'object' && v !== null && typeof (v as SlackState).ts === 'string' && typeof (v as SlackState).channel === 'string';

/** Slack says the message cannot be updated (deleted, or not ours): a new one is posted instead. */
const gone = (err: unknown) => err instanceof DeliveryError && /message_not_found|cant_update_message|edit_window_closed/.test(err.message);

export function create(config: SlackNotifierConfig, deps: ProviderDeps): Notifier {
  const token = deps.secret(config.tokenEnv);
  let api: Promise<SlackApi> | undefined;
  const client = (): Promise<SlackApi> => {
    if (!token) throw new DeliveryError(`Slack: environment variable ${config.tokenEnv} is not set (tokenEnv)`, { fatal: true });
    api ??= import('./slack/api.js').then(({ createSlackApi }) => createSlackApi({ token, timeoutMs: config.timeout, ...(config.apiUrl ? { apiUrl: config.apiUrl } : {}) }));
    return api;
  };

  /** Posts the run's message and keeps its reference; a journal that cannot keep it only costs the update in a later job. */
  async function postMain(message: RunMessage): Promise<void> {
    const posted = await (await client()).post({ channel: config.channel, ...renderSlack(message) });
    await deps.state.put({ channel: posted.channel, ts: posted.ts } satisfies SlackState).catch(() => {});
  }

  async function updateMain(state: SlackState, message: RunMessage): Promise<boolean> {
    try {
      await (await client()).update({ channel: state.channel, ts: state.ts, ...renderSlack(message) });
      return true;
    } catch (err) {
      if (!gone(err)) throw err;
      await postMain(message);
      return false;
    }
  }

  return {
    type,
    destination: config.channel,
    async notify(event: RunEvent, message: RunMessage, later = false) {
      const state = deps.state.get();
      if (!isState(state)) return postMain(message);
      // With more messages queued behind this one, the last of them updates the message.
      const updated = later ? true : await updateMain(state, message);
      if (updated && config.threads) await (await client()).post({ channel: state.channel, threadTs: state.ts, ...renderSlackDetail(event, message) });
    },
    async progress(message: RunMessage) {
      const state = deps.state.get();
      if (isState(state)) await updateMain(state, message);
    },
  };
}
