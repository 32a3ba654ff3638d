import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SlackWorkspace, type SlackApiAnswer, type SlackChannelSpec, type SlackMessage } from './slack-server-state.js';

export { SlackWorkspace, MAX_BLOCKS, MAX_TEXT } from './slack-server-state.js';
export type { SlackApiAnswer, SlackChannelSpec, SlackMessage } from './slack-server-state.js';

/**
 * A local Slack for tests and benchmarks (shipped, so plugin authors can use it too): the Web API
 * shapes of `chat.postMessage` and `chat.update` and incoming webhooks, over real HTTP on
 * 127.0.0.1, so the real `@slack/web-api` client and real `fetch` are what a test exercises. The
 * faults are the ones a notifier must survive in production: 429 with `Retry-After`, 5xx, a server
 * that never answers, and one that refuses connections. Nothing here reads the environment, and no
 * fault sleeps: time comes from `now`, so a test that injects a clock is deterministic.
 */
export interface SlackServerOptions {
  /** The one bot token accepted (default `xoxb-rollgate-test-token`). */
  token?: string;
  /** Channels that exist (default one, `#deploys`). */
  channels?: SlackChannelSpec[];
  /** Incoming webhooks by id: the channel they post to (default `{ default: <first channel> }`). */
  webhooks?: Record<string, string | SlackWebhookSpec>;
  /** Enforce Slack's 1 message per second per channel from the start (see `faults.perChannelLimit`). */
  perChannelLimit?: boolean;
  /** Clock in ms for recorded times, rate-limit periods and the per-channel limit (default `Date.now`). */
  now?: () => number;
}

/** An incoming webhook; `prohibited` answers 403 `action_prohibited` (an admin restricted posting). */
export interface SlackWebhookSpec {
  channel: string;
  prohibited?: boolean;
}

/** One request as received, in arrival order. */
export interface SlackRequest {
  method: string;
  /** `/api/chat.postMessage`, `/webhook/default`… */
  path: string;
  /** As received, `authorization` (the token) included: do not print them. */
  headers: IncomingHttpHeaders;
  /** Parsed JSON or form fields (`blocks` decoded); the raw text when it could not be parsed. */
  body: unknown;
  /** `now()` when the body had arrived. */
  at: number;
  /** The status answered; absent while the request hangs or if the server went down first. */
  status?: number;
}

/**
 * Faults, each counted in requests (API and webhook alike, in arrival order) and checked in this
 * order: hang, server error, rate limit, platform error (API only). `clear` undoes them all.
 */
export interface SlackServerFaults {
  /**
   * Answer 429 + `Retry-After: retryAfterSec` (default 1; `null` sends none) and
   * `{ok:false,error:'ratelimited'}` to the next `calls` requests (default 1), or to all until `forMs` have passed.
   */
  rateLimit(options?: { calls?: number; forMs?: number; retryAfterSec?: number | null }): void;
  /** Answer the next `calls` requests (default 1) with `status` (default 500). */
  serverError(options?: { calls?: number; status?: number }): void;
  /** Answer the next `calls` API requests (default 1) with HTTP 200 `{ok:false, error, ...extra}`, after authentication. */
  platformError(error: string, calls?: number, extra?: Record<string, unknown>): void;
  /** Never answer the next `calls` requests (default: all, until `clear`). */
  hang(calls?: number): void;
  /** Slack's 1 message per second per channel: a second post within 1 s gets 429 + `Retry-After`. */
  perChannelLimit(on: boolean, retryAfterSec?: number): void;
  /** Stop listening and drop every connection: clients get connection refused until `up`. */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): Promise<void>;
  clear(): void;
}

export interface SlackServer {
  /** The Web API base, `http://127.0.0.1:PORT/api/`: pass it as `slackApiUrl`. */
  readonly url: string;
  /** The token the server accepts. */
  readonly token: string;
  /** The incoming-webhook URL for `id` (default `default`); an unknown id answers 404 `no_service`. */
  webhookUrl(id?: string): string;
  /** Top-level messages of a channel (name, `#name` or ID) with their thread replies, as they read now. */
  messages(channel: string): SlackMessage[];
  readonly requests: SlackRequest[];
  readonly faults: SlackServerFaults;
  /** Channels: add, archive, remove while a test runs. */
  readonly workspace: SlackWorkspace;
  close(): Promise<void>;
}

const INVALID = Symbol('invalid body');

/** Starts a local Slack on 127.0.0.1 (a free port). */
export async function startSlackServer(options: SlackServerOptions = {}): Promise<SlackServer> {
  const token = options.token ?? 'xoxb-rollgate-test-token';
  const now = options.now ?? Date.now;
  const specs = options.channels ?? [{ name: 'deploys' }];
  const workspace = new SlackWorkspace(specs);
  const firstChannel = specs[0]?.name ?? 'deploys';
  const webhooks = new Map(
    Object.entries(options.webhooks ?? { default: firstChannel }).map(([id, spec]) => [id, typeof spec === 'string' ? { channel: spec } : spec]),
  );
  const requests: SlackRequest[] = [];
  const lastPost = new Map<string, number>();
  let rate: { calls: number; until: number; retryAfterSec: number | null } = { calls: 0, until: Number.NEGATIVE_INFINITY, retryAfterSec: 1 };
  let failing = { calls: 0, status: 500 };
  let platform: { calls: number; error: string; extra?: Record<string, unknown> } = { calls: 0, error: '' };
  let hangCalls = 0;
  let perChannel = { on: options.perChannelLimit ?? false, retryAfterSec: 1 };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const raw = await readBody(req);
    const body = parseBody(req.headers['content-type'], raw);
    const record: SlackRequest = { method: req.method ?? 'GET', path, headers: req.headers, body: body === INVALID ? raw : body, at: now() };
    requests.push(record);
    const isApi = path.startsWith('/api/');
    const send = (status: number, payload: string | SlackApiAnswer, headers: Record<string, string> = {}) => {
      record.status = status;
      const json = typeof payload !== 'string';
      res.writeHead(status, { 'content-type': json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8', ...headers });
      res.end(json ? JSON.stringify(payload) : payload);
    };
    const tooMany = (retryAfterSec: number | null) =>
      send(429, isApi ? { ok: false, error: 'ratelimited' } : 'rate_limited', retryAfterSec === null ? {} : { 'retry-after': String(retryAfterSec) });
    /** Slack's per-channel limit: true (and answered 429) when this post comes within 1 s of the last. */
    const overChannelLimit = (channelId: string | undefined): boolean => {
      if (!perChannel.on || channelId === undefined) return false;
      const t = now();
      const last = lastPost.get(channelId);
      if (last !== undefined && t - last < 1000) {
        tooMany(perChannel.retryAfterSec);
        return true;
      }
      lastPost.set(channelId, t);
      return false;
    };

    if (hangCalls > 0) {
      hangCalls--;
      return; // never answered: the client's timeout (or `down`/`close`) ends it
    }
    if (failing.calls > 0) {
      failing.calls--;
      const code = failing.status === 500 ? (isApi ? 'internal_error' : 'rollup_error') : 'service_unavailable';
      return send(failing.status, isApi ? { ok: false, error: code } : code);
    }
    if (rate.calls > 0 || now() < rate.until) {
      if (rate.calls > 0) rate.calls--;
      return tooMany(rate.retryAfterSec);
    }
    if (req.method !== 'POST') return send(405, 'method_not_allowed');

    if (isApi) {
      const method = path.slice('/api/'.length);
      if (body === INVALID) return send(200, { ok: false, error: 'invalid_json' });
      const args = isRecord(body) ? body : {};
      const given = bearer(req.headers.authorization) ?? (typeof args.token === 'string' ? args.token : undefined);
      if (given === undefined) return send(200, { ok: false, error: 'not_authed' });
      if (given !== token) return send(200, { ok: false, error: 'invalid_auth' });
      if (platform.calls > 0) {
        platform.calls--;
        return send(200, { ...platform.extra, ok: false, error: platform.error });
      }
      if (method === 'chat.postMessage') {
        if (overChannelLimit(workspace.resolve(String(args.channel ?? '')))) return;
        return send(200, workspace.postMessage(args));
      }
      if (method === 'chat.update') return send(200, workspace.update(args));
      return send(200, { ok: false, error: 'unknown_method' });
    }

    if (path.startsWith('/webhook/')) {
      const hook = webhooks.get(decodeURIComponent(path.slice('/webhook/'.length)));
      if (!hook) return send(404, 'no_service');
      if (hook.prohibited) return send(403, 'action_prohibited');
      if (body === INVALID) return send(400, 'invalid_payload');
      if (overChannelLimit(workspace.resolve(hook.channel))) return;
      const answer = workspace.webhookPost(hook.channel, body);
      return send(answer.status, answer.body);
    }
    return send(404, 'not_found');
  }

  const port = await listen(server, 0);
  let listening = true;
  const base = `http://127.0.0.1:${port}`;

  const faults: SlackServerFaults = {
    rateLimit({ calls, forMs, retryAfterSec = 1 } = {}) {
      rate = {
        calls: calls ?? (forMs === undefined ? 1 : 0),
        until: forMs === undefined ? Number.NEGATIVE_INFINITY : now() + forMs,
        retryAfterSec,
      };
    },
    serverError({ calls = 1, status = 500 } = {}) {
      failing = { calls, status };
    },
    platformError(error, calls = 1, extra) {
      platform = { calls, error, ...(extra ? { extra } : {}) };
    },
    hang(calls = Number.POSITIVE_INFINITY) {
      hangCalls = calls;
    },
    perChannelLimit(on, retryAfterSec = 1) {
      perChannel = { on, retryAfterSec };
      lastPost.clear();
    },
    async down() {
      if (!listening) return;
      listening = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async up() {
      if (listening) return;
      await listen(server, port);
      listening = true;
    },
    clear() {
      rate = { calls: 0, until: Number.NEGATIVE_INFINITY, retryAfterSec: 1 };
      failing = { calls: 0, status: 500 };
      platform = { calls: 0, error: '' };
      hangCalls = 0;
      perChannel = { on: false, retryAfterSec: 1 };
      lastPost.clear();
    },
  };

  return {
    url: `${base}/api/`,
    token,
    webhookUrl: (id = 'default') => `${base}/webhook/${encodeURIComponent(id)}`,
    messages: (channel) => workspace.messages(channel),
    requests,
    faults,
    workspace,
    close: () => faults.down(),
  };
}

function listen(server: ReturnType<typeof createServer>, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** JSON, or form fields the way Slack reads them: `blocks`/`attachments` (and a webhook's `payload`) hold JSON. */
function parseBody(contentType: string | undefined, raw: string): unknown {
  if (raw === '') return {};
  try {
    if (contentType?.includes('application/x-www-form-urlencoded')) {
      const fields: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
      if (typeof fields.payload === 'string') return JSON.parse(fields.payload) as unknown;
      for (const key of ['blocks', 'attachments']) {
        // Unparseable blocks stay a string, which the workspace refuses as `invalid_blocks`.
        if (typeof fields[key] === 'string') fields[key] = parseOr(fields[key], fields[key]);
      }
      return fields;
    }
    return JSON.parse(raw) as unknown;
  } catch {
    return INVALID;
  }
}

function parseOr(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
