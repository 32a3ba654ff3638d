import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Answer, Identity, type IdentityOptions } from './base/identity.js';

/*
 * A local Azure Resource Manager double: the base that service doubles (container apps, app
 * service, monitor, databases) register their documented paths on. It plays:
 * - Microsoft Entra ID's token endpoint (`POST /{tenant}/oauth2/v2.0/token`), the instance metadata
 *   service (`GET /metadata/identity/oauth2/token`, `Metadata: true`), App Service's identity
 *   endpoint (`GET /msi/token`, `X-IDENTITY-HEADER`) and GitHub's OIDC token request
 *   (`GET /github/idtoken`), see base/identity.ts;
 * - ARM's own rules: a bearer token issued here (401 `AuthenticationFailed` without one,
 *   `ExpiredAuthenticationToken` once expired), `api-version` on every request (400
 *   `MissingApiVersionParameter`), `{error:{code,message}}` bodies, case-insensitive paths;
 * - long-running operations: `asyncOperation(check)` answers 201/202 with `Azure-AsyncOperation`,
 *   `Location` and `Retry-After`, the status resource reporting what `check()` says at each poll;
 * - faults for every service: `throttle(fraction | n)` (429 with Retry-After and ARM's
 *   TooManyRequests body), `expireTokens()`, `refuseTokens()`, `fail(pattern, status, code, message)`.
 * `calls` lists every ARM request (method, path, query, body), never a header.
 */

export interface ArmCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface ArmRequest extends ArmCall {
  /** The pattern's `:name` parts, decoded. */
  params: Record<string, string>;
  apiVersion: string;
}

export type ArmHandler = (request: ArmRequest) => Answer | Promise<Answer>;

/** A refusal a handler throws: answered with ARM's `{error:{code,message}}`. */
export class ArmFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const armFault = (status: number, code: string, message: string) => new ArmFault(status, code, message);

/** What a long-running operation reports at each poll. */
export type OperationStatus = { status: 'InProgress' | 'Succeeded' } | { status: 'Failed' | 'Canceled'; error: { code: string; message: string } };

export interface ArmServerOptions extends IdentityOptions {
  /** The double's clock (ms): token expiry and whatever service doubles progress on. */
  now?: () => number;
  /** Seconds of Retry-After on 429 and on operation polls (default 1). */
  retryAfterS?: number;
  /** Seed of the throttling's choice of requests (a fraction): the same run throttles the same calls. */
  seed?: number;
}

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: ArmHandler;
}

interface Fault {
  pattern: RegExp;
  method?: string | undefined;
  status: number;
  code: string;
  message: string;
  times: number;
}

export class ArmServer {
  readonly identity: Identity;
  readonly calls: ArmCall[] = [];
  /** Requests answered 429 so far. */
  throttled = 0;
  url = '';
  private readonly now: () => number;
  private readonly retryAfterS: number;
  private readonly routes: Route[] = [];
  private readonly faults: Fault[] = [];
  private readonly operations = new Map<string, () => OperationStatus>();
  private throttling: { fraction: number } | { left: number } | undefined;
  private random: () => number;
  private server: Server | undefined;

  constructor(options: ArmServerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.identity = new Identity(options, this.now);
    this.retryAfterS = options.retryAfterS ?? 1;
    this.random = seeded(options.seed ?? 13);
    this.route('GET', '/providers/rollgate.double/operations/:id', ({ params }) => this.operationStatus(params.id as string));
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The variables of a service principal on this double (AZURE_CLIENT_SECRET), for ctx.env. */
  env(): Record<string, string> {
    return {
      AZURE_TENANT_ID: this.identity.tenant,
      AZURE_CLIENT_ID: this.identity.clientId,
      AZURE_CLIENT_SECRET: this.identity.clientSecret,
      AZURE_AUTHORITY_HOST: this.url,
      AZURE_SUBSCRIPTION_ID: '00000000-0000-4000-8000-000000000000',
    };
  }

  /** Serves `method` on `path` (`/subscriptions/:sub/…/containerApps/:app`, matched case-insensitively). */
  route(method: string, path: string, handler: ArmHandler): void {
    const names: string[] = [];
    const source = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method: method.toUpperCase(), pattern: new RegExp(`^${source}$`, 'i'), names, handler });
  }

  /**
   * A long-running operation: the answer (201 for a PUT, else 202) that starts it, with
   * `Azure-AsyncOperation`, `Location` and `Retry-After`; `check()` says its status at each poll.
   */
  asyncOperation(check: () => OperationStatus, status: 201 | 202 = 202, body?: unknown): Answer {
    const id = randomBytes(8).toString('hex');
    this.operations.set(id, check);
    const url = `${this.url}/providers/rollgate.double/operations/${id}?api-version=2024-03-01`;
    return { status, ...(body !== undefined ? { body } : {}), headers: { 'azure-asyncoperation': url, location: url, 'retry-after': String(this.retryAfterS) } };
  }

  /** Throttles a fraction of ARM requests (0 < f < 1, chosen by the seeded generator) or the next `n`. */
  throttle(amount: number): void {
    this.throttling = amount > 0 && amount < 1 ? { fraction: amount } : amount >= 1 ? { left: Math.floor(amount) } : undefined;
  }

  /** Every token issued so far stops working (a lapsed or revoked token mid-run). */
  expireTokens(): void {
    this.identity.expireTokens();
  }

  /** Entra ID refuses every later token request (a secret removed, a federated credential deleted). */
  refuseTokens(code = 7000222, description = 'The provided client secret keys for app are expired. Visit the Azure portal to create new keys for your app.'): void {
    this.identity.refusing = { code, error: 'invalid_client', description };
  }

  /** Entra ID issues tokens again (the secret renewed). */
  acceptTokens(): void {
    this.identity.refusing = undefined;
  }

  /** The next `times` requests whose path matches `pattern` (and `method`) are answered with this error. */
  fail(pattern: RegExp, status: number, code: string, message: string, options: { method?: string; times?: number } = {}): void {
    this.faults.push({ pattern, method: options.method?.toUpperCase(), status, code, message, times: options.times ?? 1 });
  }

  private operationStatus(id: string): Answer {
    const check = this.operations.get(id);
    if (!check) throw armFault(404, 'OperationNotFound', `The operation '${id}' was not found.`);
    const status = check();
    return { status: 200, body: { id, name: id, ...status }, headers: status.status === 'InProgress' ? { 'retry-after': String(this.retryAfterS) } : {} };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const text = await readBody(req);
    const send = (answer: Answer) => {
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    };
    try {
      send(await this.answer(req, url, text));
    } catch (err) {
      if (err instanceof ArmFault) send(armError(err.status, err.code, err.message));
      else send(armError(500, 'InternalServerError', err instanceof Error ? err.message : String(err)));
    }
  }

  private async answer(req: IncomingMessage, url: URL, text: string): Promise<Answer> {
    const method = (req.method ?? 'GET').toUpperCase();
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    // The identity endpoints: nothing recorded, their requests carry secrets.
    if (token && method === 'POST') return this.identity.token(decodeURIComponent(token[1] as string), new URLSearchParams(text));
    if (url.pathname === '/metadata/identity/oauth2/token') return this.identity.managedIdentity(url.searchParams, req.headers, 'imds');
    if (url.pathname === '/msi/token') return this.identity.managedIdentity(url.searchParams, req.headers, 'app-service');
    if (url.pathname === '/github/idtoken') return this.identity.github(url.searchParams, req.headers.authorization);

    const query = Object.fromEntries(url.searchParams);
    const body = text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
    this.calls.push({ method, path: url.pathname, query, body });
    const auth = this.identity.accepts(req.headers.authorization);
    if (auth === 'missing') return armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    if (auth === 'expired') return armError(401, 'ExpiredAuthenticationToken', 'The access token expiry UTC time is earlier than current UTC time.');
    if (auth === 'invalid') return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    if (!url.searchParams.get('api-version')) return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    if (this.throttleNow()) {
      this.throttled++;
      return armError(429, 'TooManyRequests', `Number of requests exceeded the limit. Please try again after '${this.retryAfterS}' seconds.`, { 'retry-after': String(this.retryAfterS) });
    }
    const fault = this.faults.find((f) => f.times > 0 && f.pattern.test(url.pathname) && (f.method === undefined || f.method === method));
    if (fault) {
      fault.times--;
      return armError(fault.status, fault.code, fault.message, fault.status === 429 || fault.status === 503 ? { 'retry-after': String(this.retryAfterS) } : {});
    }
    for (const route of this.routes) {
      const match = route.method === method ? route.pattern.exec(url.pathname) : null;
      if (!match) continue;
      const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1] as string)]));
      return route.handler({ method, path: url.pathname, query, body, params, apiVersion: url.searchParams.get('api-version') as string });
    }
    return armError(404, 'ResourceNotFound', `The resource at '${url.pathname}' was not found.`);
  }

  private throttleNow(): boolean {
    const t = this.throttling;
    if (!t) return false;
    if ('left' in t) {
      if (t.left <= 0) return false;
      t.left--;
      return true;
    }
    return this.random() < t.fraction;
  }
}

/** ARM's error answer. */
export function armError(status: number, code: string, message: string, headers: Record<string, string> = {}): Answer {
  return { status, body: { error: { code, message } }, headers };
}

export type { Answer } from './base/identity.js';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** A small deterministic generator (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
