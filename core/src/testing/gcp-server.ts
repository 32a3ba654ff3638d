import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoogleFault, OAuthFault } from './gcp/errors.js';
import { CloudRun } from './gcp/run.js';
import { CloudSql, Monitoring } from './gcp/sql-monitoring.js';
import { Tokens } from './gcp/tokens.js';

/*
 * One local HTTP server standing in for every Google endpoint rollgate calls (the family's
 * `endpoint` points every API at it; credential files name its token URLs):
 * - tokens (gcp/tokens.ts): POST /token (OAuth: signed JWT, refresh token), POST /v1/token (STS),
 *   POST /v1/projects/-/serviceAccounts/SA:generateAccessToken, GET /computeMetadata/v1/… (the
 *   metadata server), GET /oidc (GitHub's ID token endpoint);
 * - Cloud Run Admin API v2 (gcp/run.ts): services GET/PATCH/POST/DELETE, revisions GET,
 *   operations GET;
 * - Cloud SQL Admin API v1 instances GET, Cloud Monitoring's PromQL query (gcp/sql-monitoring.ts).
 * Every API call needs a live bearer token (401 UNAUTHENTICATED otherwise). Errors are Google's
 * `{error:{code,message,status}}`. Faults on demand: a fraction of API calls throttled (429
 * RESOURCE_EXHAUSTED with Retry-After), any status on a path, tokens revoked (and new grants
 * refused), an operation that fails. `calls` records each API call without its headers.
 */

export interface GcpServerOptions {
  now?: () => number;
  /** How long a revision takes to become Ready, in ms of `now` (default 5 s). */
  startMs?: number;
}

export interface GcpCall {
  method: string;
  path: string;
  body?: unknown;
  status: number;
  /** The x-goog-user-project header (the project billed), when sent. */
  quotaProject?: string;
}

interface PathFault {
  method?: string;
  path: RegExp;
  status: number;
  grpc: string;
  times: number;
  /** Matching requests served normally before the fault begins. */
  skip: number;
}

const STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

export class GcpServer {
  readonly tokens: Tokens;
  readonly run: CloudRun;
  readonly sql = new CloudSql();
  readonly monitoring = new Monitoring();
  /** Every API call (not the token exchanges), in order, without headers. */
  readonly calls: GcpCall[] = [];
  /** Token exchanges served, by endpoint (`/token`, `/v1/token`, …). */
  readonly exchanges: string[] = [];
  private readonly faults: PathFault[] = [];
  private throttled = { fraction: 0, seen: 0, left: 0 };
  private server: Server | undefined;
  private readonly hangs: { path: RegExp; onArrival?: () => void }[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private readonly interceptions: { path: RegExp; method?: string; run: () => void }[] = [];
  readonly now: () => number;
  url = '';

  constructor(options: GcpServerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.tokens = new Tokens({ now: this.now, url: () => this.url });
    this.run = new CloudRun({ now: this.now, ...(options.startMs !== undefined ? { startMs: options.startMs } : {}) });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The host:port of the metadata server (GCE_METADATA_HOST). */
  get host(): string {
    return new URL(this.url).host;
  }

  /** Throttles API calls: a fraction (0.3: every third-or-so call, spread evenly) or the next `n` calls. */
  throttle(amount: number): void {
    this.throttled = amount < 1 ? { fraction: amount, seen: 0, left: 0 } : { fraction: 0, seen: 0, left: amount };
  }

  /** The next `times` API calls matching (after `skip` of them) answer `status` with Google's error body. */
  fail(path: RegExp, status: number, options: { method?: string; times?: number; skip?: number } = {}): void {
    this.faults.push({ path, status, grpc: STATUS[status] ?? 'UNKNOWN', times: options.times ?? 1, skip: options.skip ?? 0, ...(options.method ? { method: options.method } : {}) });
  }

  /** The next API call matching never answers; `onArrival` runs when it arrives (the client now waits). */
  hang(path: RegExp, onArrival?: () => void): void {
    this.hangs.push({ path, ...(onArrival ? { onArrival } : {}) });
  }

  /** `run` runs once, just before the next API call matching is served (someone else writing in between). */
  before(path: RegExp, run: () => void, options: { method?: string } = {}): void {
    this.interceptions.push({ path, run, ...(options.method ? { method: options.method } : {}) });
  }

  /** Every token handed out is refused from now on (401); with `refuseGrants`, a refresh fails too. */
  expireTokens(refuseGrants = false): void {
    this.tokens.revokeAll(refuseGrants);
  }

  /** The next Cloud Run operation fails with `message` once done. */
  failOperation(message = 'Internal error encountered.'): void {
    this.run.failures.push(message);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const text = await new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
      req.on('end', () => resolve(data));
    });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      const token = this.tokenEndpoint(method, url, text, bearer, req.headers['metadata-flavor'] as string | undefined);
      if (token !== undefined) {
        this.exchanges.push(url.pathname);
        return send(200, token);
      }
    } catch (err) {
      this.exchanges.push(url.pathname);
      if (err instanceof OAuthFault) return send(err.code, err.body());
      if (err instanceof GoogleFault) return send(err.code, err.body());
      throw err;
    }
    const body = text.trim() === '' ? undefined : parseBody(text, req.headers['content-type']);
    const held = this.hangs.findIndex((h) => h.path.test(url.pathname));
    if (held >= 0) {
      const [hang] = this.hangs.splice(held, 1);
      this.hanging.add(res);
      hang?.onArrival?.();
      return;
    }
    const quota = req.headers['x-goog-user-project'] as string | undefined;
    const call: GcpCall = { method, path: url.pathname + url.search, ...(body !== undefined ? { body } : {}), status: 200, ...(quota ? { quotaProject: quota } : {}) };
    this.calls.push(call);
    try {
      if (!this.tokens.valid(bearer)) throw new GoogleFault(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
      if (!this.tokens.scoped(bearer)) throw new GoogleFault(403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.');
      this.injectFaults(method, url.pathname);
      const first = this.interceptions.findIndex((i) => i.path.test(url.pathname) && (!i.method || i.method === method));
      if (first >= 0) this.interceptions.splice(first, 1)[0]?.run();
      const answer = this.api(method, url, body);
      call.status = answer.status ?? 200;
      send(call.status, answer.body);
    } catch (err) {
      if (!(err instanceof GoogleFault)) {
        call.status = 500;
        return send(500, { error: { code: 500, message: (err as Error).message, status: 'INTERNAL' } });
      }
      call.status = err.code;
      send(err.code, err.body(), err.retryAfter !== undefined ? { 'retry-after': String(err.retryAfter) } : {});
    }
  }

  private injectFaults(method: string, path: string): void {
    const t = this.throttled;
    t.seen += 1;
    const throttle = t.left > 0 ? (t.left--, true) : t.fraction > 0 && Math.floor(t.seen * t.fraction) > Math.floor((t.seen - 1) * t.fraction);
    if (throttle) throw new GoogleFault(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.", 1);
    const fault = this.faults.find((f) => f.times > 0 && f.path.test(path) && (!f.method || f.method === method));
    if (fault && fault.skip > 0) fault.skip -= 1;
    else if (fault) {
      fault.times -= 1;
      throw new GoogleFault(fault.status, fault.grpc, `Injected ${fault.grpc}.`, fault.status === 429 ? 1 : undefined);
    }
  }

  /** A token endpoint's answer, or `undefined` when the path is not one. */
  private tokenEndpoint(method: string, url: URL, text: string, bearer: string | undefined, flavor: string | undefined): unknown {
    const path = url.pathname;
    if (method === 'POST' && path === '/token') return this.tokens.oauth(new URLSearchParams(text));
    if (method === 'POST' && path === '/v1/token') return this.tokens.sts(new URLSearchParams(text));
    const impersonate = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path);
    if (method === 'POST' && impersonate) return this.tokens.generateAccessToken(decodeURIComponent(impersonate[1] as string), bearer);
    if (method === 'GET' && path === '/computeMetadata/v1/instance/service-accounts/default/token') return this.tokens.metadata(flavor);
    if (method === 'GET' && path === '/oidc') return this.tokens.oidc(bearer, url.searchParams.get('audience') ?? '');
    return undefined;
  }

  private api(method: string, url: URL, body: unknown): { status?: number; body: unknown } {
    const path = url.pathname;
    const m = (re: RegExp) => re.exec(path)?.slice(1).map(decodeURIComponent);
    const loc = '^/v2/projects/([^/]+)/locations/([^/]+)';
    let g: string[] | undefined;
    if ((g = m(new RegExp(`${loc}/services/([^/]+)/revisions/([^/]+)$`))) && method === 'GET') {
      const [p, l, s, r] = g as [string, string, string, string];
      return { body: this.run.revisionView(this.run.get(p, l, s), r) };
    }
    if ((g = m(new RegExp(`${loc}/services/([^/]+)$`)))) {
      const [p, l, s] = g as [string, string, string];
      if (method === 'GET') return { body: this.run.view(this.run.get(p, l, s)) };
      if (method === 'PATCH') return { body: this.run.update(this.run.get(p, l, s), (body ?? {}) as Record<string, unknown>) };
      if (method === 'DELETE') return { body: this.run.remove(this.run.get(p, l, s)) };
    }
    if ((g = m(new RegExp(`${loc}/services$`))) && method === 'POST') {
      const [p, l] = g as [string, string];
      return { body: this.run.create(p, l, url.searchParams.get('serviceId') ?? '', (body ?? {}) as Record<string, unknown>) };
    }
    if ((g = m(new RegExp(`${loc}/operations/([^/]+)$`))) && method === 'GET') {
      const [p, l, o] = g as [string, string, string];
      return { body: this.run.getOperation(p, l, o) };
    }
    if ((g = m(/^\/v1\/projects\/([^/]+)\/instances\/([^/]+)$/)) && method === 'GET') return { body: this.sql.get(g[0] as string, g[1] as string) };
    if ((g = m(/^\/v1\/projects\/([^/]+)\/location\/global\/prometheus\/api\/v1\/query$/)) && method === 'POST') {
      const query = typeof body === 'object' && body !== null ? String((body as { query?: unknown }).query ?? '') : '';
      return this.monitoring.query(g[0] as string, query, this.now());
    }
    throw new GoogleFault(404, 'NOT_FOUND', `The double does not serve ${method} ${path}.`);
  }
}

function parseBody(text: string, type: string | undefined): unknown {
  if ((type ?? '').includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
