import { createHash } from 'node:crypto';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { describeSocketError } from '../tcp.js';
import { SCRAM_SHA_256, ScramClient } from './scram.js';
import * as wire from './wire.js';

/*
 * One short-lived PostgreSQL session: connect (TCP or a unix socket), optional TLS, start-up and
 * password authentication (SCRAM-SHA-256, md5, cleartext), then one statement in a read-only
 * transaction. Nothing here knows about probes: failures are thrown, with messages that name the
 * server and the user, never the password.
 */

export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface ConnectOptions {
  /** A host name or address, or a directory holding the server's unix socket (starts with /). */
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string | undefined;
  sslmode: SslMode;
  /** PEM of the CA that signs the server's certificate (verify-ca, verify-full); default: Node's CAs. */
  ca?: string | undefined;
  /** Run-time settings sent in the start-up message (e.g. default_transaction_read_only). */
  settings?: Record<string, string>;
}

/** An ErrorResponse from the server: its fields by code (C = SQLSTATE, M = message, H = hint…). */
export class ServerError extends Error {
  constructor(readonly fields: Record<string, string>) {
    super(fields.M ?? 'the server reported an error');
  }
  get code(): string {
    return this.fields.C ?? '';
  }
}

/** Why a connection failed, when the server did not say it with an ErrorResponse. */
export type FailureKind = 'socket' | 'tls' | 'protocol' | 'closed' | 'no-password' | 'auth-method';

export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
  ) {
    super(message);
  }
}

/** The first row of a statement's result: its columns and values (text), `undefined` without one. */
export interface QueryResult {
  columns: wire.Column[];
  row: (string | null)[] | undefined;
}

/** How messages name a server: host:port, or the path of its socket file. */
export function addressOf(host: string, port: number): string {
  if (host.startsWith('/')) return socketPath(host, port);
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

const socketPath = (dir: string, port: number) => `${dir.replace(/\/+$/, '')}/.s.PGSQL.${port}`;
const endpoint = (o: ConnectOptions) => (o.host.startsWith('/') ? { path: socketPath(o.host, o.port) } : { host: o.host, port: o.port });
const md5 = (text: string | Buffer) => createHash('md5').update(text).digest('hex');

/** A session. `destroy()` may be called at any time (an abort): every wait then rejects. */
export class PgConnection {
  private socket: Socket | undefined;
  private readonly reader = new wire.FrameReader();
  private readonly queue: wire.BackendMessage[] = [];
  private waiter: { resolve: (m: wire.BackendMessage) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private backendKey: { pid: number; secret: number } | undefined;
  private querying = false;
  private destroyed = false;
  /** The server's version as it reports it (`server_version`), once connected. */
  serverVersion: string | undefined;
  readonly where: string;

  constructor(private readonly options: ConnectOptions) {
    this.where = addressOf(options.host, options.port);
  }

  /** Connects, negotiates TLS when asked, and authenticates; resolves when the server is ready. */
  async open(): Promise<void> {
    let socket = await this.connectSocket();
    if (this.options.sslmode !== 'disable' && !this.options.host.startsWith('/')) socket = await this.negotiateTls(socket);
    this.attach(socket);
    const { user, database, settings } = this.options;
    this.write(wire.startupMessage({ user, database, client_encoding: 'UTF8', application_name: 'rollgate', ...settings }));
    await this.authenticate();
    await this.untilReady();
  }

  /**
   * Runs `sql` in a read-only transaction whose statements stop after `statementTimeoutMs`, and
   * returns its first row. The server enforces both; the transaction is rolled back by `close()`.
   */
  async readOnlyQuery(sql: string, statementTimeoutMs: number): Promise<QueryResult> {
    this.write(wire.simpleQuery(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(statementTimeoutMs))}`));
    const status = await this.untilReady();
    if (status !== 'T') throw new ConnectionError(`${this.where} did not open a read-only transaction`, 'protocol');
    this.querying = true;
    this.write(wire.extendedQuery(sql, 1));
    const result: QueryResult = { columns: [], row: undefined };
    await this.untilReady((m) => {
      if (m.type === 'T') result.columns = wire.parseRowDescription(m.body);
      else if (m.type === 'D') result.row ??= wire.parseDataRow(m.body);
    });
    this.querying = false;
    return result;
  }

  /**
   * Whether a session that waited in the pool can serve another check: open, and the server has
   * said nothing since (a session it ends sends a FATAL error, then closes).
   */
  get reusable(): boolean {
    return this.socket !== undefined && !this.destroyed && this.failure === undefined && this.queue.length === 0;
  }

  /**
   * Ends the check's transaction and resets the session (settings, advisory locks, prepared
   * statements, temporary state: DISCARD ALL), so the next check finds it as a new one would be.
   */
  async reset(): Promise<void> {
    this.write(Buffer.concat([wire.simpleQuery('ROLLBACK'), wire.simpleQuery('DISCARD ALL')]));
    await this.untilReady();
    const status = await this.untilReady();
    if (status !== 'I') throw new ConnectionError(`${this.where} did not end the transaction`, 'protocol');
  }

  /** Whether the open socket keeps the process running: not while the session waits in the pool. */
  keepProcessAlive(on: boolean): void {
    if (on) this.socket?.ref();
    else this.socket?.unref();
  }

  /** Rolls back and says goodbye without waiting for the answer; the socket closes itself. */
  close(): void {
    const socket = this.socket;
    if (!socket || this.destroyed) return;
    this.destroyed = true;
    socket.end(Buffer.concat([wire.simpleQuery('ROLLBACK'), wire.terminate()]));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** Stops at once: asks the server to cancel a statement in flight, then drops the connection. */
  destroy(reason: Error): void {
    if (this.querying && this.backendKey) this.sendCancel(this.backendKey);
    this.querying = false;
    this.destroyed = true;
    this.fail(reason);
    this.socket?.destroy();
  }

  private connectSocket(): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = netConnect(endpoint(this.options));
      this.socket = socket;
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => reject(new ConnectionError(this.describeSocketError(err), 'socket')));
      // destroy() while connecting closes the socket without an error event.
      socket.once('close', () => reject(this.failure ?? new ConnectionError(`${this.where} closed the connection`, 'closed')));
      if (this.destroyed) socket.destroy();
    });
  }

  private async negotiateTls(socket: Socket): Promise<Socket> {
    const { sslmode, host, ca } = this.options;
    // Loaded here, not at start-up: most runs have no TLS connection to PostgreSQL.
    const { checkServerIdentity, connect: tlsConnect } = await import('node:tls');
    return new Promise<Socket>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => reject(new ConnectionError(this.describeSocketError(err), 'socket')));
      socket.once('close', () => reject(this.failure ?? new ConnectionError(`${this.where} closed the connection during TLS negotiation`, 'closed')));
      socket.once('data', (answer: Buffer) => {
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        // Bytes after the one-byte answer would be read as if they came over TLS (CVE-2021-23222).
        if (answer.length !== 1) return reject(new ConnectionError(`${this.where} sent unexpected data in answer to the TLS request`, 'protocol'));
        if (answer[0] !== 0x53) {
          if (sslmode === 'prefer') return resolve(socket);
          return reject(new ConnectionError(`${this.where} does not accept TLS connections, and sslmode is ${sslmode}`, 'tls'));
        }
        const verify = sslmode === 'verify-ca' || sslmode === 'verify-full';
        const secure = tlsConnect({
          socket,
          host,
          ...(isIP(host) === 0 ? { servername: host } : {}),
          rejectUnauthorized: verify,
          ...(ca ? { ca } : {}),
          checkServerIdentity: sslmode === 'verify-full' ? checkServerIdentity : () => undefined,
        });
        this.socket = secure;
        secure.once('secureConnect', () => {
          secure.removeAllListeners('error');
          resolve(secure);
        });
        secure.once('error', (err) => reject(new ConnectionError(`TLS with ${this.where} failed (sslmode ${sslmode}): ${err.message}`, 'tls')));
      });
      socket.write(wire.sslRequest());
    });
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const m of this.reader.push(chunk)) this.deliver(m);
      } catch (err) {
        this.fail(new ConnectionError(`${this.where}: ${(err as Error).message}`, 'protocol'));
        socket.destroy();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new ConnectionError(this.describeSocketError(err), 'socket')));
    socket.on('close', () => this.fail(new ConnectionError(`${this.where} closed the connection`, 'closed')));
  }

  private async authenticate(): Promise<void> {
    let scram: ScramClient | undefined;
    for (;;) {
      const m = await this.next();
      if (m.type === 'E') throw new ServerError(wire.parseFields(m.body));
      if (m.type !== 'R') continue;
      const code = m.body.readInt32BE(0);
      switch (code) {
        case 0:
          if (scram) throw new ConnectionError(`${this.where} accepted the login without proving it knows the password`, 'protocol');
          return;
        case 3:
          this.write(wire.passwordMessage(this.password()));
          break;
        case 5: {
          const salt = m.body.subarray(4, 8);
          const inner = md5(`${this.password()}${this.options.user}`);
          this.write(wire.passwordMessage(`md5${md5(Buffer.concat([Buffer.from(inner), salt]))}`));
          break;
        }
        case 10: {
          const offered = wire.parseMechanisms(m.body);
          if (!offered.includes(SCRAM_SHA_256)) {
            throw new ConnectionError(`${this.where} offers only SASL ${offered.join(', ')}; rollgate speaks ${SCRAM_SHA_256}`, 'auth-method');
          }
          scram = new ScramClient(this.password());
          this.write(wire.saslInitialResponse(SCRAM_SHA_256, scram.first()));
          break;
        }
        case 11: {
          const client = scram;
          if (!client) throw new ConnectionError(`${this.where} continued a SASL exchange that never started`, 'protocol');
          this.write(wire.saslResponse(await this.scramStep(() => client.final(m.body.toString('utf8', 4)))));
          break;
        }
        case 12: {
          const client = scram;
          if (!client) throw new ConnectionError(`${this.where} ended a SASL exchange that never started`, 'protocol');
          await this.scramStep(() => client.verify(m.body.toString('utf8', 4)));
          scram = undefined;
          break;
        }
        default:
          throw new ConnectionError(`${this.where} asks for an authentication method rollgate does not speak (code ${code}; use scram-sha-256 or md5 in pg_hba.conf)`, 'auth-method');
      }
    }
  }

  private async scramStep<T>(step: () => T | Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      throw new ConnectionError(`SCRAM authentication with ${this.where} failed: ${(err as Error).message}`, 'protocol');
    }
  }

  private password(): string {
    const { password } = this.options;
    if (password === undefined) throw new ConnectionError(`${this.where} asks for a password for user ${this.options.user}, and none was given`, 'no-password');
    return password;
  }

  /** Reads up to ReadyForQuery and returns its transaction status; throws the first error seen. */
  private async untilReady(each?: (m: wire.BackendMessage) => void): Promise<string> {
    let error: ServerError | undefined;
    for (;;) {
      const m = await this.next();
      if (m.type === 'Z') {
        if (error) throw error;
        return String.fromCharCode(m.body[0] as number);
      }
      if (m.type === 'E') {
        error ??= new ServerError(wire.parseFields(m.body));
        // A FATAL error ends the session: no ReadyForQuery follows (an unknown database, after login).
        if (['FATAL', 'PANIC'].includes(error.fields.V ?? error.fields.S ?? '')) throw error;
      }
      else if (m.type === 'S') {
        const [name, value] = wire.parseParameter(m.body);
        if (name === 'server_version') this.serverVersion = value;
      } else if (m.type === 'K') this.backendKey = { pid: m.body.readInt32BE(0), secret: m.body.readInt32BE(4) };
      else each?.(m);
    }
  }

  private next(): Promise<wire.BackendMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private deliver(m: wire.BackendMessage): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter.resolve(m);
    else this.queue.push(m);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }

  private write(data: Buffer): void {
    this.socket?.write(data);
  }

  /** Best effort, on its own connection, as libpq's PQcancel: the statement stops on the server too. */
  private sendCancel(key: { pid: number; secret: number }): void {
    const socket = netConnect(endpoint(this.options));
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.end(wire.cancelRequest(key.pid, key.secret)));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private describeSocketError(err: NodeJS.ErrnoException): string {
    if (err.code === 'ENOENT' && this.options.host.startsWith('/')) return `no server socket at ${this.where} (is the server running, on port ${this.options.port}?)`;
    return describeSocketError(err, this.where);
  }
}
