import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local AWS endpoint for tests: one HTTP server that speaks the two wire protocols of the
 * services rollgate calls, so the real SDK v3 clients talk to it unchanged (`aws.endpoint`):
 * - AWS JSON 1.0/1.1 (ECS, Service Quotas, CloudWatch): POST with `X-Amz-Target: Prefix.Operation`,
 *   a JSON body, JSON answers; errors as `{"__type": "...", "message": "..."}` with a 4xx/5xx.
 * - Query (ELBv2, RDS): a form body `Action=…&Version=…` with lists as `Name.member.N`, XML answers
 *   `<OpResponse><OpResult>…</OpResult><ResponseMetadata/></OpResponse>`, lists as `<member>`, errors
 *   as `<ErrorResponse><Error><Type/><Code/><Message/></Error></ErrorResponse>`.
 * Service doubles (testing/aws/ecs.ts, elbv2.ts…) register operations; faults are injected here for
 * every service alike: throttling, expired credentials, an operation that fails.
 */

/** A fault answered as AWS answers it: the exception's name, its message and the HTTP status. */
export class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function awsFault(code: string, message: string, status = 400): AwsFault {
  return new AwsFault(code, message, status);
}

// The double's handlers read params of every shape; they are plain parsed JSON or form values.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AwsHandler = (params: any, call: { operation: string }) => unknown;

export interface AwsCall {
  operation: string;
  protocol: 'json' | 'query';
  params: unknown;
}

interface Operation {
  protocol: 'json' | 'query';
  handler: AwsHandler;
  xmlns?: string;
  members?: Record<string, string>;
}

export interface AwsServerOptions {
  /** The access key id a request must be signed with (default `AKIDROLLGATETEST`). */
  accessKeyId?: string;
}

export class AwsServer {
  url = '';
  readonly calls: AwsCall[] = [];
  private server: Server | undefined;
  private readonly operations = new Map<string, Operation>();
  private readonly failures = new Map<string, { fault: AwsFault; times: number }>();
  private throttled: { fraction: number; left: number } = { fraction: 0, left: 0 };
  private seed = 1;
  private expired = false;
  readonly accessKeyId: string;

  constructor(options: AwsServerOptions = {}) {
    this.accessKeyId = options.accessKeyId ?? 'AKIDROLLGATETEST';
  }

  /** Registers a JSON-protocol operation: `X-Amz-Target: <prefix>.<operation>`. */
  json(prefix: string, operation: string, handler: AwsHandler): this {
    this.operations.set(`${prefix}.${operation}`, { protocol: 'json', handler });
    return this;
  }

  /**
   * Registers a Query-protocol operation (`Action=<operation>`), answered in `xmlns`. Lists are
   * `<member>` elements unless `members` names the element of a list (RDS: `DBInstances` holds
   * `DBInstance` elements), as the service's model does.
   */
  query(operation: string, handler: AwsHandler, options: { xmlns: string; members?: Record<string, string> }): this {
    this.operations.set(operation, { protocol: 'query', handler, xmlns: options.xmlns, ...(options.members ? { members: options.members } : {}) });
    return this;
  }

  /** The env a client needs to sign requests the double accepts. */
  env(region = 'us-east-1'): Record<string, string> {
    return { AWS_ACCESS_KEY_ID: this.accessKeyId, AWS_SECRET_ACCESS_KEY: 'rollgate-test-secret-not-shown', AWS_REGION: region };
  }

  /**
   * Throttles calls: a fraction in (0, 1) throttles that share of every call from now on (the same
   * calls each run: a seeded sequence), a whole number throttles the next `n` calls; 0 stops.
   */
  throttle(amount: number): this {
    this.throttled = amount > 0 && amount < 1 ? { fraction: amount, left: 0 } : { fraction: 0, left: amount };
    this.seed = 1;
    return this;
  }

  /** Every later call is refused as signed with expired credentials, until `renewCredentials()`. */
  expireCredentials(): this {
    this.expired = true;
    return this;
  }

  renewCredentials(): this {
    this.expired = false;
    return this;
  }

  /** The next `times` calls of `operation` (default: all of them) answer `fault`. */
  fail(operation: string, fault: AwsFault, times = Number.POSITIVE_INFINITY): this {
    this.failures.set(operation, { fault, times });
    return this;
  }

  /** Calls of one operation so far. */
  callsOf(operation: string): AwsCall[] {
    return this.calls.filter((c) => c.operation === operation);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const target = req.headers['x-amz-target'];
    const protocol: 'json' | 'query' = typeof target === 'string' ? 'json' : 'query';
    const form = protocol === 'query' ? new URLSearchParams(body) : undefined;
    const name = protocol === 'json' ? String(target) : (form?.get('Action') ?? '');
    const operation = this.operations.get(name);
    const short = protocol === 'json' ? name.slice(name.indexOf('.') + 1) : name;
    const answer = (status: number, payload: string) => {
      res.writeHead(status, { 'content-type': protocol === 'json' ? 'application/x-amz-json-1.1' : 'text/xml', 'x-amzn-requestid': 'req-1' });
      res.end(payload);
    };
    const fault = (f: AwsFault) =>
      protocol === 'json'
        ? (res.setHeader('x-amzn-errortype', f.code), answer(f.status, JSON.stringify({ __type: f.code, message: f.message })))
        : answer(f.status, errorXml(f, operation?.xmlns));
    try {
      const params = protocol === 'json' ? (body ? JSON.parse(body) : {}) : formToObject(form as URLSearchParams);
      this.calls.push({ operation: short, protocol, params });
      if (!operation) return fault(awsFault(protocol === 'json' ? 'UnknownOperationException' : 'InvalidAction', `the double does not implement ${name || 'this call'}`));
      const auth = String(req.headers.authorization ?? '');
      if (!auth.startsWith('AWS4-HMAC-SHA256 ') || !auth.includes(`Credential=${this.accessKeyId}/`)) {
        return fault(awsFault(protocol === 'json' ? 'UnrecognizedClientException' : 'InvalidClientTokenId', 'The security token included in the request is invalid.'));
      }
      if (this.expired) return fault(awsFault(protocol === 'json' ? 'ExpiredTokenException' : 'ExpiredToken', 'The security token included in the request is expired'));
      if (this.throttleNow()) return fault(awsFault(protocol === 'json' ? 'ThrottlingException' : 'Throttling', 'Rate exceeded'));
      const failure = this.failures.get(short);
      if (failure && failure.times > 0) {
        failure.times -= 1;
        return fault(failure.fault);
      }
      const result = await operation.handler(params, { operation: short });
      if (protocol === 'json') return answer(200, JSON.stringify(result ?? {}));
      return answer(200, resultXml(short, result, operation.xmlns ?? '', operation.members ?? {}));
    } catch (err) {
      if (err instanceof AwsFault) return fault(err);
      return fault(awsFault(protocol === 'json' ? 'ServerException' : 'InternalFailure', (err as Error).message, 500));
    }
  }

  private throttleNow(): boolean {
    if (this.throttled.left > 0) {
      this.throttled.left -= 1;
      return true;
    }
    if (this.throttled.fraction === 0) return false;
    // A small LCG: the same calls are throttled on every run of a test.
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    return this.seed / 2147483648 < this.throttled.fraction;
  }
}

/** A Query form as an object: `A.member.1.B=x` → `{ A: [{ B: 'x' }] }`; `A=` alone is an empty list or string. */
export function formToObject(form: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of form) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let node: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      const last = i === parts.length - 1;
      if ((part === 'member' || part === 'entry') && i + 1 < parts.length) continue;
      const index = /^\d+$/.test(part) && (parts[i - 1] === 'member' || parts[i - 1] === 'entry') ? Number(part) - 1 : undefined;
      const container = node as Record<string | number, unknown>;
      const slot = index ?? part;
      if (last) {
        container[slot] = value;
      } else {
        const nextIsList = parts[i + 1] === 'member' || parts[i + 1] === 'entry';
        container[slot] ??= nextIsList ? [] : {};
        node = container[slot] as Record<string, unknown> | unknown[];
      }
    }
  }
  return root;
}

function resultXml(operation: string, result: unknown, xmlns: string, members: Record<string, string>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response xmlns="${xmlns}"><${operation}Result>${toXml(result ?? {}, members)}</${operation}Result><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></${operation}Response>`;
}

function errorXml(fault: AwsFault, xmlns = ''): string {
  const type = fault.status >= 500 ? 'Receiver' : 'Sender';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${xmlns}"><Error><Type>${type}</Type><Code>${escape(fault.code)}</Code><Message>${escape(fault.message)}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`;
}

/** Objects as nested elements, arrays as `<member>` lists (or the element `members` names for the list), dates as ISO 8601. */
export function toXml(value: unknown, members: Record<string, string> = {}, list = ''): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) {
    const element = members[list] ?? 'member';
    return value.map((v) => `<${element}>${toXml(v, members)}</${element}>`).join('');
  }
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${toXml(v, members, k)}</${k}>`)
      .join('');
  }
  return escape(String(value));
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
