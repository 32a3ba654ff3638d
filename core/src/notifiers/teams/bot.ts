import type { ConversationReference } from '@microsoft/agents-activity';
import type * as Hosting from '@microsoft/agents-hosting';
import { DeliveryError, deliveryErrorForStatus, retryAfterMs } from '../delivery-error.js';
import { errorCode, networkProblem } from './workflow-webhook.js';

/**
 * A Teams bot that posts a card proactively into a conversation it was installed in, and later
 * updates that same card in place: what a Workflows webhook cannot do (it returns no message id).
 *
 * Built on the Microsoft 365 Agents SDK (`@microsoft/agents-hosting`), the successor of the retired
 * Bot Framework SDK: `CloudAdapter.continueConversation` with a stored conversation reference,
 * then `TurnContext.sendActivity` / `updateActivity`. The SDK gets its token from Entra with MSAL
 * (client credentials) and calls the Bot Connector at the conversation's `serviceUrl`
 * (`POST v3/conversations/{id}/activities`, `PUT .../activities/{activityId}`).
 *
 * The SDK costs about 30 MB of memory and 0.4 s to load, so it is imported on the first send or
 * update, never by a run that has no Teams bot configured. It reads `process.env` when it loads
 * (its own configuration variables); everything this module needs is passed explicitly, so those
 * variables cannot redirect the credentials or the hosts used here.
 *
 * No error message carries the client secret or a token: errors are rebuilt from status codes and
 * the services' error codes, never from the SDK's messages, and carry no `cause`.
 */

export interface TeamsConversationRef {
  /** The Bot Connector base URL Teams gave with the conversation, e.g. `https://smba.trafficmanager.net/emea/`. */
  serviceUrl: string;
  /** `19:...@thread.tacv2` for a channel, `a:...` / `19:..._...@unq.gbl.spaces` for chats. */
  conversationId: string;
  /** The tenant of the conversation (default: the bot's tenant). */
  tenantId?: string;
  /** Default `msteams`. */
  channelId?: string;
}

export interface TeamsBotOptions {
  /** The bot's Entra app (client) id; single-tenant, as new Azure Bot resources must be. */
  clientId: string;
  clientSecret: string;
  tenantId: string;
  /**
   * The Entra authority host (default `https://login.microsoftonline.com`), e.g.
   * `https://login.microsoftonline.us` for US government clouds. Must be https and a host MSAL
   * knows: MSAL refuses http authorities and looks unknown hosts up at login.microsoftonline.com,
   * so tests cannot point it at a local server (they redirect fetch instead).
   */
  authorityHost?: string;
  /**
   * Hosts a conversation's `serviceUrl` may point at besides Microsoft's own (botframework.com,
   * smba.trafficmanager.net, teams.microsoft.com/.us): the bot's token is sent there, so a stored
   * reference that was tampered with must not be able to send it anywhere else. Tests add 127.0.0.1.
   */
  serviceHosts?: readonly string[];
  /** Gives up on one send or update (token included) after this long (default 30 s); retryable. */
  timeoutMs?: number;
}

export interface TeamsBot {
  /** Posts a new message with the card; its `activityId` is what `update` needs later. */
  send(ref: TeamsConversationRef, card: object): Promise<{ activityId: string }>;
  /** Replaces the card of a message the bot posted. Never posts a new one: a 404 says to. */
  update(ref: TeamsConversationRef, activityId: string, card: object): Promise<void>;
}

const importSdk = () => import('@microsoft/agents-hosting');
/** The SDK's exports as `import()` gives them under `default` (its `module.exports`). */
type Sdk = Awaited<ReturnType<typeof importSdk>>['default'];
type Operation = 'send' | 'update';

const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
const DEFAULT_TIMEOUT_MS = 30_000;
const CONNECTION = 'serviceConnection';
const NOT_AUTHORISED = 'not authorised: check the app id, secret and tenant';

let loading: Promise<Sdk> | undefined;

/**
 * The SDK, imported once per process and only when a bot is actually used. It is CommonJS: Node
 * gives its exports both as named exports and as `default`, an esbuild bundle (the CLI) only as
 * `default`, so `default` is what is read.
 */
function loadSdk(): Promise<Sdk> {
  loading ??= importSdk().then((mod) => mod.default).catch((err: unknown) => {
    loading = undefined;
    throw new DeliveryError(`Teams bot: the Microsoft 365 Agents SDK (@microsoft/agents-hosting) cannot be loaded (${(err as Error)?.name ?? 'error'})`, { fatal: true });
  });
  return loading;
}

/** Builds the bot; nothing is loaded, checked or sent until the first `send` or `update`. */
export function createTeamsBot(options: TeamsBotOptions): TeamsBot {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let ready: Promise<{ sdk: Sdk; adapter: Hosting.CloudAdapter; hosts: Hosting.OutboundHostValidator }> | undefined;

  /**
   * One adapter per bot, configured only from `options`: an explicit connection map (so no
   * `Connections__*` variable can replace it), an error handler that rethrows (the SDK's default
   * one would post "The agent encountered an error or bug." into the channel), and an outbound
   * host policy that is on.
   */
  async function adapter() {
    if (ready) return ready;
    ready = loadSdk().then((sdk) => {
      const connection: Hosting.AuthConfiguration = {
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        tenantId: options.tenantId,
        authType: 'ClientSecret',
        authorityEndpoint: options.authorityHost ?? DEFAULT_AUTHORITY,
      };
      const hosts = new sdk.OutboundHostValidator({ enabled: true, hosts: options.serviceHosts ?? [] });
      const auth: Hosting.AuthConfiguration = { ...connection, connections: new Map([[CONNECTION, connection]]), connectionsMap: [{ serviceUrl: '*', connection: CONNECTION }] };
      const cloud = new sdk.CloudAdapter(auth, undefined, undefined, { emitStackTrace: false, validateServiceUrl: false }, hosts);
      cloud.onTurnError = async (_context, error) => {
        throw error;
      };
      return { sdk, adapter: cloud, hosts };
    });
    ready.catch(() => {
      ready = undefined;
    });
    return ready;
  }

  /**
   * Runs one operation in a continued conversation. The logic catches its own failure and hands
   * it back, so the SDK's turn-error path never runs; the deadline covers the token request too,
   * since neither MSAL nor the Bot Connector client takes a timeout or a signal.
   */
  async function run<T>(operation: Operation, ref: TeamsConversationRef, card: object, act: (context: Hosting.TurnContext, sdk: Sdk) => Promise<T>): Promise<T> {
    const what = `Teams bot (${hostOf(ref.serviceUrl)})`;
    const problem = configProblem(options, ref);
    if (problem) throw new DeliveryError(`${what}: ${problem}`, { fatal: true });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeliveryError(`${what}: no answer within ${timeoutMs} ms (the ${operation} may still have happened)`, { retryable: true })), timeoutMs);
    });
    const attempt = (async () => {
      const { sdk, adapter: cloud, hosts } = await adapter();
      if (!hosts.isAllowed(ref.serviceUrl)) {
        throw new DeliveryError(`${what}: the serviceUrl host is not a Bot Connector host the bot may send its token to; add it to serviceHosts if it is yours`, { fatal: true });
      }
      let result: { value: T } | undefined;
      let failure: unknown;
      await cloud.continueConversation(options.clientId, reference(options, ref), async (context) => {
        try {
          result = { value: await act(context, sdk) };
        } catch (err) {
          failure = err;
        }
      });
      if (failure !== undefined) throw failure;
      if (!result) throw new DeliveryError(`${what}: the ${operation} did not run`);
      return result.value;
    })();
    try {
      return await Promise.race([attempt, deadline]);
    } catch (err) {
      throw redact(classify(err, operation, what, Buffer.byteLength(JSON.stringify(card))), options.clientSecret);
    } finally {
      clearTimeout(timer);
      attempt.catch(() => undefined);
    }
  }

  return {
    send: (ref, card) =>
      run('send', ref, card, async (context, sdk) => {
        // The continuation activity carries a made-up id, and the SDK would send the card as a
        // reply to it (POST .../activities/<that id>); a proactive post is a new message.
        context.onSendActivities(async (_context, activities, next) => {
          for (const activity of activities) delete activity.replyToId;
          return next();
        });
        const response = await context.sendActivity(sdk.MessageFactory.attachment(sdk.CardFactory.adaptiveCard(card)));
        if (!response?.id) throw new DeliveryError(`Teams bot (${hostOf(ref.serviceUrl)}): the Bot Connector gave no activity id, so this card cannot be updated later`);
        return { activityId: response.id };
      }),
    update: async (ref, activityId, card) => {
      if (!activityId) throw new DeliveryError(`Teams bot (${hostOf(ref.serviceUrl)}): cannot update the card: no activity id was given; post a new card instead`);
      return run('update', ref, card, async (context, sdk) => {
        context.onUpdateActivity(async (_context, activity, next) => {
          delete activity.replyToId;
          return next();
        });
        const activity = sdk.MessageFactory.attachment(sdk.CardFactory.adaptiveCard(card));
        activity.id = activityId;
        await context.updateActivity(activity);
      });
    },
  };
}

/** The SDK's conversation reference for a stored Teams conversation, the bot as the sender. */
function reference(options: TeamsBotOptions, ref: TeamsConversationRef): ConversationReference {
  const channelId = ref.channelId ?? 'msteams';
  return {
    channelId,
    serviceUrl: ref.serviceUrl,
    conversation: { id: ref.conversationId, tenantId: ref.tenantId ?? options.tenantId },
    agent: { id: channelId === 'msteams' ? `28:${options.clientId}` : options.clientId },
  };
}

function configProblem(options: TeamsBotOptions, ref: TeamsConversationRef): string | undefined {
  if (!options.clientId || !options.clientSecret || !options.tenantId) return 'clientId, clientSecret and tenantId are all required';
  if (!ref.conversationId) return 'the conversation reference has no conversationId: store the one Teams sent when the bot was installed';
  let url: URL;
  try {
    url = new URL(ref.serviceUrl);
  } catch {
    return 'the conversation reference has no readable serviceUrl';
  }
  const loopback = url.hostname === 'localhost' || /^127\./.test(url.hostname) || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return 'the serviceUrl must use https (the bot token would travel in clear text)';
  return undefined;
}

/**
 * What a failure means for delivery. The Bot Connector's throttling answers (429, 412, 502, 504,
 * other 5xx) are retried after `Retry-After`; a refused token or app (401/403, or Entra refusing
 * the credentials) stops the destination; a missing activity says to post anew; an oversized or
 * malformed card is dropped.
 */
function classify(err: unknown, operation: Operation, what: string, cardBytes: number): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { name?: string; status?: unknown; errorCode?: unknown; errorNo?: unknown; response?: { headers?: Headers; data?: unknown } };
  if (e?.name === 'HttpError' && typeof e.status === 'number') {
    return connectorError(e.status, e.response?.headers?.get('retry-after') ?? null, e.response?.data, operation, what, cardBytes);
  }
  if (typeof e?.errorCode === 'string') return entraError(e.errorCode, typeof e.status === 'number' ? e.status : undefined, e.errorNo, what);
  // fetch's own failure (undici): `TypeError: fetch failed` with the socket error as its cause.
  if (e?.name === 'TypeError' && (err as Error).message === 'fetch failed') {
    return new DeliveryError(`${what}: ${networkProblem(err, 0)}`, { retryable: true });
  }
  return new DeliveryError(`${what}: the ${operation} failed unexpectedly (${e?.name ?? typeof err})`);
}

function connectorError(status: number, retryAfter: string | null, data: unknown, operation: Operation, what: string, cardBytes: number): DeliveryError {
  const code = errorCode(typeof data === 'string' ? data : JSON.stringify(data ?? null));
  const detail = code ? ` ${code}` : '';
  const wait = retryAfterMs(retryAfter);
  if (status === 429 || status === 412 || status >= 500) {
    const after = wait !== undefined ? `, retry after ${wait} ms` : '';
    return new DeliveryError(`${what}: the Bot Connector is ${status === 429 ? 'throttling the bot' : 'unavailable'} (HTTP ${status}${detail}${after})`, {
      retryable: true,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    });
  }
  if (status === 401 || status === 403) {
    const installed = status === 403 ? '; and that the bot is still installed in this team or chat' : '';
    return new DeliveryError(`${what}: ${NOT_AUTHORISED}${installed} (Bot Connector HTTP ${status}${detail})`, { fatal: true });
  }
  if (status === 404 && operation === 'update') {
    return new DeliveryError(`${what}: cannot update the card: the message or its conversation was not found (HTTP 404${detail}); post a new card instead`);
  }
  if (status === 404) {
    return new DeliveryError(`${what}: conversation not found (HTTP 404${detail}): the bot was removed from it or the stored reference is stale; install the bot again and store the new reference`, {
      fatal: true,
    });
  }
  if (status === 413) {
    return new DeliveryError(`${what}: MessageSizeTooBig (HTTP 413): the card is ${(cardBytes / 1024).toFixed(1)} KB and Teams takes bot messages of about 100 KB at most (aim for 80 KB)`);
  }
  if (status === 400) return new DeliveryError(`${what}: the Bot Connector refused the message (HTTP 400${detail}): check that the card is a valid Adaptive Card 1.5 or lower`);
  return deliveryErrorForStatus(status, `${what}: Bot Connector`, retryAfter);
}

/** MSAL's errors: the service's `errorCode` (and AADSTS number) say whether the credentials are wrong or Entra is unwell. */
function entraError(code: string, status: number | undefined, errorNo: unknown, what: string): DeliveryError {
  const aadsts = /^\d{1,9}$/.test(String(errorNo)) ? `, AADSTS${String(errorNo)}` : '';
  const safeCode = /^[a-z_]{1,60}$/.test(code) ? code : 'error';
  if (status === 429 || (status !== undefined && status >= 500) || ['temporarily_unavailable', 'server_error', 'network_error', 'endpoints_resolution_error'].includes(code)) {
    return new DeliveryError(`${what}: Entra did not issue a token (${safeCode}${status ? `, HTTP ${status}` : ''})`, { retryable: true });
  }
  if (['invalid_client', 'unauthorized_client', 'invalid_request', 'invalid_grant', 'invalid_scope', 'invalid_resource'].includes(code) || status === 400 || status === 401) {
    return new DeliveryError(`${what}: ${NOT_AUTHORISED} (Entra answered ${safeCode}${aadsts})`, { fatal: true });
  }
  return new DeliveryError(`${what}: no token from Entra (${safeCode}): check authorityHost and the tenant`, { fatal: true });
}

/** The last guard: a message that somehow holds the secret gets it masked. */
function redact(error: DeliveryError, secret: string): DeliveryError {
  if (!secret || !error.message.includes(secret)) return error;
  return new DeliveryError(error.message.split(secret).join('***'), {
    retryable: error.retryable,
    fatal: error.fatal,
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unreadable serviceUrl';
  }
}
