import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the three Microsoft endpoints the Teams notifiers talk to, on 127.0.0.1:
 *
 * - a Workflows (Power Automate) webhook trigger, `POST /workflows/<id>/triggers/manual/paths/invoke?...&sig=...`,
 *   answering 202 like the real one, but stricter: it refuses (400) an envelope the template flow
 *   would fail on later (the real trigger answers 202 and the failure shows in the run history);
 * - the Entra token endpoint, `POST /<tenant>/oauth2/v2.0/token` (client credentials);
 * - the Bot Connector, `POST {serviceUrl}v3/conversations/<id>/activities[/<replyTo>]` and
 *   `PUT .../activities/<activityId>`, checking the bearer token it issued and keeping the current
 *   card of every activity, so a test sees an update land in place.
 *
 * MSAL only talks to an https authority and only trusts login.microsoftonline.com without a
 * discovery call, so the bot keeps its real authority and the test points it here with
 * `server.fetch` (a global fetch that sends login.microsoftonline.com to this server), the way
 * nock would. Every request is recorded; faults are queued per endpoint.
 */

export const ENTRA_AUTHORITY = 'https://login.microsoftonline.com';

/** Where a request went. */
export type TeamsEndpoint = 'workflow' | 'token' | 'send' | 'update';

/**
 * What the next request to an endpoint meets instead of the normal answer: an HTTP status (with an
 * optional `Retry-After` and JSON body), a request that is never answered (`hang`), or a
 * connection dropped without an answer (`down`, what a crashed host or proxy looks like).
 */
export type TeamsFault = { status: number; retryAfter?: string; body?: unknown } | { hang: true } | { down: true };

export interface RecordedRequest {
  endpoint: TeamsEndpoint | 'unknown';
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status answered; `undefined` for a hang or a dropped connection. */
  status?: number;
}

/** One bot message as the conversation shows it now. */
export interface BotActivity {
  id: string;
  conversationId: string;
  /** The whole activity as last received (sent or updated). */
  activity: Record<string, unknown>;
  /** The Adaptive Card of its first attachment, as last received. */
  card: unknown;
  /** How many times it was updated in place. */
  updates: number;
  replyToId?: string;
}

export interface TeamsServerOptions {
  /** Workflow bodies above this many bytes get 413 "Request Entity too large" (default 28 KB). */
  maxWorkflowBytes?: number;
  /** Bot activities above this many bytes get 413 MessageSizeTooBig (default 100 KB). */
  maxBotBytes?: number;
  /** The one client secret the token endpoint accepts, for any client id (default a fixed test value). */
  clientSecret?: string;
  /** `expires_in` of the tokens issued (default 3599). */
  tokenLifetimeSeconds?: number;
}

export interface TeamsServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The `sig` every workflow URL of this server carries (and the only one it accepts). */
  sig: string;
  /** A Workflows trigger URL, shaped like the real ones. */
  workflowUrl(id?: string): string;
  /** A Bot Connector service URL (ends with `/`, like Teams' `https://smba.trafficmanager.net/teams/`). */
  serviceUrl: string;
  /** The authority the bot keeps using; `fetch` sends it here. */
  authority: string;
  /** Where this server answers token requests for a tenant. */
  tokenUrl(tenantId: string): string;
  /** The client secret the token endpoint accepts. */
  clientSecret: string;
  /** A fetch that sends requests for login.microsoftonline.com to this server, everything else unchanged. */
  fetch: typeof fetch;
  requests: RecordedRequest[];
  /** The bot messages of a conversation, in the order they were posted, each with its current card. */
  activities(conversationId: string): BotActivity[];
  /** The cards posted through the Workflows endpoint and accepted, in order. */
  cards(): unknown[];
  /** The access tokens issued so far. */
  tokens(): string[];
  /** Queues a fault for the next `times` requests to an endpoint. */
  fault(endpoint: TeamsEndpoint, fault: TeamsFault, times?: number): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const ADAPTIVE = 'application/vnd.microsoft.card.adaptive';
const BOT_SCOPE = 'https://api.botframework.com/.default';
const WORKFLOW_PATH = /^\/workflows\/([^/]+)\/triggers\/manual\/paths\/invoke$/;
const TOKEN_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/token$/;
const CONNECTOR_PATH = /^(?:\/[^/]+)*?\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/;

export async function startTeamsServer(options: TeamsServerOptions = {}): Promise<TeamsServer> {
  const maxWorkflowBytes = options.maxWorkflowBytes ?? 28 * 1024;
  const maxBotBytes = options.maxBotBytes ?? 100 * 1024;
  const clientSecret = options.clientSecret ?? 'rollgate-test-client-secret';
  const sig = `sig-${randomUUID()}`;
  const requests: RecordedRequest[] = [];
  const faults = new Map<TeamsEndpoint, TeamsFault[]>();
  const issued = new Set<string>();
  const conversations = new Map<string, BotActivity[]>();
  const posted: unknown[] = [];
  let nextActivity = 1;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const { endpoint, match } = route(req);
      const record: RecordedRequest = { endpoint, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(record);
      const reply = (status: number, json?: unknown, headers: Record<string, string> = {}) => {
        record.status = status;
        res.writeHead(status, { ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...headers });
        res.end(json !== undefined ? JSON.stringify(json) : undefined);
      };
      const fault = endpoint === 'unknown' ? undefined : faults.get(endpoint)?.shift();
      if (fault && 'hang' in fault) return;
      if (fault && 'down' in fault) return void req.socket.destroy();
      if (fault) return reply(fault.status, fault.body ?? { error: { code: `Fault${fault.status}`, message: 'injected fault' } }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      switch (endpoint) {
        case 'workflow':
          return workflow(req, body, reply);
        case 'token':
          return token(match?.[1] ?? '', body, reply);
        case 'send':
        case 'update':
          return connector(endpoint, req, body, decode(match?.[1]), decode(match?.[2]), reply);
        default:
          return reply(404, { error: { code: 'NotFound', message: `no route for ${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}` } });
      }
    });
  });

  type Reply = (status: number, json?: unknown, headers?: Record<string, string>) => void;

  function workflow(req: IncomingMessage, body: string, reply: Reply): void {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    if (query.get('sig') !== sig) {
      return reply(401, { error: { code: 'DirectApiAuthorizationRequired', message: 'The request must be authenticated only by Shared Access scheme.' } });
    }
    if (Buffer.byteLength(body) > maxWorkflowBytes) return reply(413, { error: { code: 'MessageTooLarge', message: 'Request Entity too large' } });
    const problem = envelopeProblem(body);
    if (problem) return reply(400, { error: { code: 'TriggerInputSchemaMismatch', message: problem } });
    for (const a of (JSON.parse(body) as { attachments: Array<{ content: unknown }> }).attachments) posted.push(a.content);
    reply(202);
  }

  function token(tenant: string, body: string, reply: Reply): void {
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') return reply(400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: grant type not supported here.' });
    if (!form.get('client_id')) return reply(400, { error: 'invalid_request', error_description: 'AADSTS900144: client_id is missing.' });
    if (form.get('client_secret') !== clientSecret) {
      return reply(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] });
    }
    if (form.get('scope') !== BOT_SCOPE) return reply(400, { error: 'invalid_scope', error_description: `AADSTS70011: scope ${form.get('scope')} is not valid here.` });
    const accessToken = `tok-${tenant}-${randomUUID()}`;
    issued.add(accessToken);
    const lifetime = options.tokenLifetimeSeconds ?? 3599;
    reply(200, { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken });
  }

  function connector(endpoint: 'send' | 'update', req: IncomingMessage, body: string, conversationId: string, activityId: string, reply: Reply): void {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !issued.has(bearer)) return reply(401, { message: 'Authorization has been denied for this request.' });
    if (Buffer.byteLength(body) > maxBotBytes) return reply(413, { error: { code: 'MessageSizeTooBig', message: 'Message size too big.' } });
    let activity: Record<string, unknown>;
    try {
      activity = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return reply(400, { error: { code: 'BadSyntax', message: 'The body is not JSON.' } });
    }
    if (typeof activity.type !== 'string') return reply(400, { error: { code: 'BadArgument', message: 'Activity type is required.' } });
    const card = (activity.attachments as Array<{ content?: unknown }> | undefined)?.[0]?.content;
    const list = conversations.get(conversationId) ?? [];
    if (endpoint === 'send') {
      const id = `${Date.UTC(2026, 0, 1) + nextActivity++}`;
      list.push({ id, conversationId, activity, card, updates: 0, ...(activityId ? { replyToId: activityId } : {}) });
      conversations.set(conversationId, list);
      return reply(201, { id });
    }
    const current = list.find((a) => a.id === activityId);
    if (!conversations.has(conversationId)) return reply(404, { error: { code: 'ConversationNotFound', message: 'Conversation not found.' } });
    if (!current) return reply(404, { error: { code: 'ActivityNotFound', message: 'The activity was not found in this conversation.' } });
    Object.assign(current, { activity, card, updates: current.updates + 1 });
    reply(200, { id: activityId });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const realFetch = globalThis.fetch;

  return {
    url,
    sig,
    workflowUrl: (id = 'a1b2c3d4e5f6') => `${url}/workflows/${id}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`,
    serviceUrl: `${url}/teams/`,
    authority: ENTRA_AUTHORITY,
    tokenUrl: (tenantId) => `${url}/${tenantId}/oauth2/v2.0/token`,
    clientSecret,
    fetch: (input, init) => {
      const target = input instanceof Request ? input.url : String(input);
      if (!target.startsWith(`${ENTRA_AUTHORITY}/`)) return realFetch(input, init);
      const local = url + target.slice(ENTRA_AUTHORITY.length);
      return realFetch(input instanceof Request ? new Request(local, input) : local, init);
    },
    requests,
    activities: (conversationId) => (conversations.get(conversationId) ?? []).map((a) => ({ ...a })),
    cards: () => [...posted],
    tokens: () => [...issued],
    fault(endpoint, fault, times = 1) {
      faults.set(endpoint, [...(faults.get(endpoint) ?? []), ...Array.from({ length: times }, () => fault)]);
    },
    clearFaults: () => faults.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function route(req: IncomingMessage): { endpoint: TeamsEndpoint | 'unknown'; match?: RegExpExecArray } {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  let match: RegExpExecArray | null;
  if (req.method === 'POST' && (match = WORKFLOW_PATH.exec(path))) return { endpoint: 'workflow', match };
  if (req.method === 'POST' && (match = TOKEN_PATH.exec(path))) return { endpoint: 'token', match };
  match = CONNECTOR_PATH.exec(path);
  if (match && req.method === 'POST') return { endpoint: 'send', match };
  if (match?.[2] && req.method === 'PUT') return { endpoint: 'update', match };
  return { endpoint: 'unknown' };
}

/** What the template flow would fail on: a body that is not `{type: 'message', attachments: [adaptive card...]}`. */
export function envelopeProblem(body: string): string | undefined {
  let envelope: { type?: unknown; attachments?: unknown };
  try {
    envelope = JSON.parse(body) as typeof envelope;
  } catch {
    return 'the body is not JSON';
  }
  if (envelope === null || typeof envelope !== 'object') return 'the body is not a JSON object';
  if (envelope.type !== 'message') return '"type" must be "message"';
  if (!Array.isArray(envelope.attachments) || envelope.attachments.length === 0) return '"attachments" must be a non-empty array';
  for (const [i, a] of (envelope.attachments as Array<Record<string, unknown> | null>).entries()) {
    if (a === null || typeof a !== 'object') return `attachments[${i}] is not an object`;
    if (a.contentType !== ADAPTIVE) return `attachments[${i}].contentType must be "${ADAPTIVE}"`;
    const content = a.content as { type?: unknown } | null | undefined;
    if (content === null || typeof content !== 'object' || content.type !== 'AdaptiveCard') return `attachments[${i}].content must be an Adaptive Card`;
  }
  return undefined;
}

function decode(segment: string | undefined): string {
  if (segment === undefined) return '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
