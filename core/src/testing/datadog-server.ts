import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local double of the Datadog metrics query API v2 (`POST /api/v2/query/timeseries`), answering
 * the documented request and response shapes:
 * - request `{data: {type: 'timeseries_request', attributes: {from, to, interval?, queries:
 *   [{data_source: 'metrics', query, name}], formulas?: [{formula}]}}}`, times in epoch ms;
 * - response `{data: {type: 'timeseries_response', attributes: {series: [{group_tags,
 *   query_index, unit}], times: [ms...], values: [[number|null...]...]}}}`, one series per formula
 *   (per query when there is none) and group; a query nothing reports gives no series;
 * - keys in `DD-API-KEY` and `DD-APPLICATION-KEY` (401 `{errors: ['Unauthorized']}` when wrong),
 *   an application key without the `timeseries_query` permission (403 `{errors: ['Forbidden']}`),
 *   a formula naming a query that is not in the request (400), and faults on demand: any status
 *   with `{errors}` (429 with `X-RateLimit-*` headers, the rate-limit headers Datadog documents;
 *   `Retry-After` too when asked) and a request that never answers.
 * Formulas: query names, numbers, + - * / and parentheses, point by point, over queries of one
 * series each. Not covered: other data sources (logs, spans), functions in formulas, `limit`.
 */

/** A series a query reports: its group tags and its value at a time (null: no point then). */
export interface DatadogSeries {
  tags?: string[];
  value(timeMs: number): number | null;
}

interface Fault {
  status?: number;
  hang?: boolean;
  onArrival?: () => void;
  rateLimitReset?: number;
  retryAfter?: number;
  times: number;
}

export interface DatadogRequest {
  path: string;
  /** The request body as sent (never the keys: those travel in headers, kept apart). */
  body: unknown;
}

export class DatadogServer {
  /** Every request served, in order: path and body, never a header. */
  readonly requests: DatadogRequest[] = [];
  /** Whether the application key holds the `timeseries_query` permission. */
  canQuery = true;
  /** Default rollup interval (ms) when the request names none. */
  interval = 60_000;
  url = '';
  private readonly metrics = new Map<string, DatadogSeries[]>();
  private readonly faults: Fault[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | undefined;

  constructor(
    readonly apiKey = 'dd-api-key-0123456789abcdef',
    readonly appKey = 'dd-app-key-fedcba9876543210',
  ) {}

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

  /** What `query` reports: a constant, a function of time, or several series (a `by {…}` query). */
  define(query: string, series: number | ((timeMs: number) => number | null) | DatadogSeries[]): void {
    const list = typeof series === 'number' ? [{ value: () => series }] : typeof series === 'function' ? [{ value: series }] : series;
    this.metrics.set(query, list);
  }

  /** The next `times` requests answer `status` with `{errors}`; a 429 carries the rate-limit headers. */
  fail(status: number, options: { times?: number; rateLimitReset?: number; retryAfter?: number } = {}): void {
    this.faults.push({ status, times: options.times ?? 1, ...options });
  }

  /** The next request never answers; `onArrival` runs when it arrives. */
  hangNext(onArrival?: () => void): void {
    this.faults.push({ hang: true, times: 1, ...(onArrival ? { onArrival } : {}) });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const text = await readBody(req);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return errors(res, 400, ['Invalid JSON']);
    }
    this.requests.push({ path: url.pathname, body });
    if (req.method !== 'POST' || url.pathname !== '/api/v2/query/timeseries') return errors(res, 404, ['Not found']);
    if (req.headers['dd-api-key'] !== this.apiKey || req.headers['dd-application-key'] !== this.appKey) return errors(res, 401, ['Unauthorized']);
    const fault = this.faults.find((f) => f.times > 0);
    if (fault) {
      fault.times -= 1;
      if (fault.hang) {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        fault.onArrival?.();
        return;
      }
      return this.answerFault(res, fault);
    }
    if (!this.canQuery) return errors(res, 403, ['Forbidden']);
    try {
      json(res, 200, this.timeseries(body));
    } catch (err) {
      errors(res, 400, [(err as Error).message]);
    }
  }

  private answerFault(res: ServerResponse, fault: Fault): void {
    const status = fault.status ?? 500;
    const headers: Record<string, string> = {};
    if (status === 429) {
      Object.assign(headers, { 'x-ratelimit-limit': '1600', 'x-ratelimit-period': '3600', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(fault.rateLimitReset ?? 2) });
    }
    if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
    const said = status === 429 ? 'Too many requests' : status >= 500 ? 'Internal Server Error' : 'injected fault';
    errors(res, status, [said], headers);
  }

  private timeseries(body: unknown): unknown {
    const attributes = (body as { data?: { type?: string; attributes?: Attributes } } | undefined)?.data;
    if (attributes?.type !== 'timeseries_request' || !attributes.attributes) throw new Error("expected data.type 'timeseries_request' with attributes");
    const { from, to, interval, queries, formulas } = attributes.attributes;
    if (typeof from !== 'number' || typeof to !== 'number' || from >= to) throw new Error('from and to must be epoch milliseconds with from < to');
    if (!Array.isArray(queries) || queries.length === 0) throw new Error('queries must not be empty');
    const step = interval ?? this.interval;
    const times: number[] = [];
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) times.push(t);
    const byName = new Map(queries.map((q) => [q.name, this.metrics.get(q.query) ?? []]));
    const outputs = formulas && formulas.length > 0 ? formulas.map((f) => f.formula) : queries.map((q) => q.name);
    const series: unknown[] = [];
    const values: Array<Array<number | null>> = [];
    outputs.forEach((formula, index) => {
      for (const s of evaluate(formula, byName)) {
        series.push({ group_tags: s.tags ?? [], query_index: index, unit: null });
        values.push(times.map((t) => s.value(t)));
      }
    });
    return { data: { id: '0', type: 'timeseries_response', attributes: { series, times, values } } };
  }
}

interface Attributes {
  from?: number;
  to?: number;
  interval?: number;
  queries?: Array<{ data_source?: string; query: string; name: string }>;
  formulas?: Array<{ formula: string }>;
}

/** The series a formula gives: a query's own series, or one computed point by point. */
function evaluate(formula: string, byName: Map<string, DatadogSeries[]>): DatadogSeries[] {
  const named = byName.get(formula.trim());
  if (named) return named;
  const tokens = formula.match(/\s*([A-Za-z_][\w]*|\d+(?:\.\d+)?|[-+*/()])/g)?.map((t) => t.trim()) ?? [];
  for (const t of tokens) if (/^[A-Za-z_]/.test(t) && !byName.has(t)) throw new Error(`Formula references unknown query name: ${t}`);
  if (tokens.some((t) => /^[A-Za-z_]/.test(t) && (byName.get(t)?.length ?? 0) !== 1)) return [];
  return [{ value: (time) => expression(tokens, (name) => (byName.get(name) as DatadogSeries[])[0]?.value(time) ?? null) }];
}

/** + - * / over numbers and names, by precedence; null when a name has no point then. */
function expression(tokens: string[], lookup: (name: string) => number | null): number | null {
  let at = 0;
  const atom = (): number | null => {
    const t = tokens[at++] ?? '';
    if (t === '(') {
      const v = sum();
      at++;
      return v;
    }
    if (t === '-') {
      const v = atom();
      return v === null ? null : -v;
    }
    return /^\d/.test(t) ? Number(t) : lookup(t);
  };
  const product = (): number | null => {
    let v = atom();
    while (tokens[at] === '*' || tokens[at] === '/') {
      const op = tokens[at++];
      const r = atom();
      v = v === null || r === null ? null : op === '*' ? v * r : r === 0 ? null : v / r;
    }
    return v;
  };
  const sum = (): number | null => {
    let v = product();
    while (tokens[at] === '+' || tokens[at] === '-') {
      const op = tokens[at++];
      const r = product();
      v = v === null || r === null ? null : op === '+' ? v + r : v - r;
    }
    return v;
  };
  return sum();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function errors(res: ServerResponse, status: number, list: string[], headers: Record<string, string> = {}): void {
  json(res, status, { errors: list }, headers);
}
