import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { duration, envVarName } from '../config/fields.js';
import { errorMessage } from '../errors.js';
import type { ProbeResult } from '../model/results.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import { addressOf, type ConnectOptions, PgConnection, type QueryResult, type SslMode } from './postgres/connection.js';
import { describeFailure, endedSession, type FailureContext } from './postgres/messages.js';
import { SessionPool } from './postgres/pool.js';
import { parseConnectionUrl } from './postgres/url.js';
import { probeValue } from './postgres/values.js';

export const type = 'postgres';

/** The server's statement_timeout ends this much before the probe's own: its clearer error comes first. */
const SERVER_FIRST_MS = 100;

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    host: z.string().min(1).optional().describe('Server host name or address, or the directory of its unix socket (starting with /); default localhost'),
    port: z.number().int().min(1).max(65535).optional().describe('Server port (default 5432)'),
    database: z.string().min(1).optional().describe('Database to connect to (default: the user name, as libpq does)'),
    user: z.string().min(1).optional().describe('Role to log in as; grant it only what the query reads'),
    passwordEnv: envVarName('Environment variable holding the password of `user` (rollgate reads it; it is masked in every output)').optional(),
    urlEnv: envVarName(
      'Environment variable holding a whole connection URL, postgres://user:password@host:5432/database?sslmode=require, instead of host, port, database, user and passwordEnv',
    ).optional(),
    sslmode: z
      .enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full'])
      .optional()
      .describe(
        "TLS, as libpq: disable; prefer (TLS when the server offers it; the default, or the URL's sslmode); require (TLS, certificate not checked); verify-ca (certificate checked); verify-full (certificate and host name checked)",
      ),
    sslRootCert: z
      .string()
      .min(1)
      .optional()
      .describe("PEM file of the CA that signed the server's certificate, relative to the workflow file, for verify-ca and verify-full (default: Node's CAs)"),
    query: z
      .string()
      .min(1)
      .refine((q) => !q.includes('\0'), 'a query cannot hold a NUL character')
      .optional()
      .describe(
        'One SQL statement whose first row\'s first column is `value` (e.g. SELECT max(version) FROM schema_migrations). It runs in a read-only transaction the server enforces, then rolled back; the session is kept for the next check (at most 4 per server and role, reset between checks, closed after 10s idle)',
      ),
    timeout: duration('Give up on this probe after this long, connection and query together (the whole snapshot stops at 4.9s, so a state check ends within 5s)').prefault('2s'),
    statementTimeout: duration("The query's statement_timeout on the server (default: what is left of timeout)").optional(),
  })
  .refine((c) => c.urlEnv !== undefined || c.user !== undefined, {
    message: 'give user (with host, port, database and passwordEnv as needed), or urlEnv',
    path: ['user'],
  })
  .refine((c) => c.urlEnv === undefined || [c.host, c.port, c.database, c.user, c.passwordEnv].every((v) => v === undefined), {
    message: 'urlEnv holds the whole connection: drop host, port, database, user and passwordEnv, or drop urlEnv',
    path: ['urlEnv'],
  })
  .describe(
    "Logs in to PostgreSQL; ok when the session opens and the optional query runs. value: the query's first column of its first row (null for no row or NULL), true without a query",
  );
export type PostgresProbeConfig = z.infer<typeof configSchema>;

export function create(config: PostgresProbeConfig, deps: ProviderDeps): Probe {
  return {
    type,
    async check(ctx): Promise<ProbeResult> {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const fail = (error: string): ProbeResult => ({ ok: false, value: null, latencyMs: elapsed(), error: ctx.mask(error) });

      let options: ConnectOptions;
      try {
        options = await connectOptions(config, deps);
      } catch (err) {
        return fail(errorMessage(err));
      }
      const c: FailureContext = {
        label: `${options.user}@${addressOf(options.host, options.port)}/${options.database}`,
        where: addressOf(options.host, options.port),
        user: options.user,
        database: options.database,
        credentialFrom: config.urlEnv ?? config.passwordEnv,
        phase: 'connect',
        stopped: undefined,
        timeoutMs: config.timeout,
        statementTimeoutMs: undefined,
        query: config.query,
      };
      if (ctx.signal.aborted) return fail(`cancelled before connecting to ${c.label}`);
      // A probe with a query reuses a session of an earlier check (see postgres/pool.ts); without
      // one it measures exactly a login, so it always opens its own.
      let key = config.query === undefined ? undefined : poolKey(options);

      // The probe's own deadline and the snapshot's signal both stop the work where it is: the
      // socket is dropped and a statement in flight is cancelled on the server.
      let connection: PgConnection | undefined;
      let stop: (why: 'cancelled' | 'timeout') => void = () => {};
      const stopped = new Promise<never>((_, reject) => {
        stop = (why) => {
          c.stopped ??= why;
          const reason = new Error(why);
          connection?.destroy(reason);
          reject(reason);
        };
      });
      stopped.catch(() => undefined);
      const timer = setTimeout(() => stop('timeout'), config.timeout);
      const onAbort = () => stop('cancelled');
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      let holding = false;
      let kept = false;
      const open = async () => {
        connection = new PgConnection(options);
        c.phase = 'connect';
        await Promise.race([connection.open(), stopped]);
      };
      try {
        if (key) {
          const pooled = key;
          // A session handed out after this check gave up goes straight back.
          const lease = await Promise.race([
            // Waiting for a kept session may take a quarter of the probe's time, no more.
            sessions.acquire(pooled, config.timeout / 4).then((l) => (c.stopped && l !== 'own' ? void sessions.release(pooled, l, l !== undefined) : l)),
            stopped,
          ]);
          if (lease === 'own') key = undefined;
          else {
            holding = true;
            connection = lease;
          }
        }
        const reused = connection !== undefined;
        if (!reused) await open();
        const details = { serverVersion: (connection as PgConnection).serverVersion ?? null };
        if (config.query === undefined) return { ok: true, value: true, latencyMs: elapsed(), details };
        const query = () => {
          c.phase = 'query';
          const left = config.timeout - (performance.now() - started) - SERVER_FIRST_MS;
          c.statementTimeoutMs = Math.max(1, Math.round(Math.min(config.statementTimeout ?? Infinity, left)));
          return Promise.race([(connection as PgConnection).readOnlyQuery(config.query as string, c.statementTimeoutMs), stopped]);
        };
        let result: QueryResult;
        try {
          result = await query();
        } catch (err) {
          // A kept session the server ended meanwhile (a restart, an idle timeout): one new session.
          if (!reused || c.stopped || !endedSession(err)) throw err;
          connection?.destroy(err as Error);
          await open();
          result = await query();
        }
        const column = result.columns[0];
        const value = column && result.row ? probeValue(result.row[0] ?? null, column.typeOid) : null;
        const measured: ProbeResult = { ok: true, value: typeof value === 'string' ? ctx.mask(value) : value, latencyMs: elapsed(), details };
        if (key && holding) {
          // Readying the session for the next check is not part of this one: a session that cannot
          // be reset is dropped, and the answer stands.
          try {
            await Promise.race([(connection as PgConnection).reset(), stopped]);
            kept = true;
          } catch {
            kept = false;
          }
        }
        return measured;
      } catch (err) {
        return fail(describeFailure(err, c));
      } finally {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        if (key && holding) sessions.release(key, connection, kept);
        else connection?.close();
      }
    },
  };
}

/** The sessions of every postgres probe of this process; the idle ones are closed when it ends. */
const sessions = new SessionPool();
process.on('beforeExit', () => sessions.closeIdle());

/** Sessions are shared only between checks of the same server, database, role, password and TLS settings. */
function poolKey(o: ConnectOptions): string {
  const digest = (text: string | undefined) => (text === undefined ? '' : createHash('sha256').update(text).digest('hex'));
  return JSON.stringify([o.host, o.port, o.database, o.user, digest(o.password), o.sslmode, digest(o.ca)]);
}

/** Where to connect and as whom: from the fields, or from the URL in `urlEnv`. */
async function connectOptions(config: PostgresProbeConfig, deps: ProviderDeps): Promise<ConnectOptions> {
  // Read through deps, never the process's own environment: the values are masked in every output.
  const secret = (name: string, field: string) => {
    const value = deps.secret(name);
    if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set (${field} of the postgres probe)`);
    return value;
  };
  let base: Omit<ConnectOptions, 'sslmode' | 'ca' | 'settings'> & { sslmode?: SslMode | undefined };
  if (config.urlEnv) {
    base = parseConnectionUrl(secret(config.urlEnv, 'urlEnv'), config.urlEnv);
  } else {
    const user = config.user as string; // the schema requires user without urlEnv
    base = {
      host: config.host ?? 'localhost',
      port: config.port ?? 5432,
      user,
      database: config.database ?? user,
      password: config.passwordEnv ? secret(config.passwordEnv, 'passwordEnv') : undefined,
    };
  }
  const sslmode = config.sslmode ?? base.sslmode ?? 'prefer';
  let ca: string | undefined;
  if (config.sslRootCert) {
    const file = resolve(deps.workDir, config.sslRootCert);
    try {
      ca = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read sslRootCert ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`, { cause: err });
    }
  }
  return {
    ...base,
    sslmode,
    ca,
    // Read-only for the whole session too, beside the transaction's own BEGIN READ ONLY.
    settings: { default_transaction_read_only: 'on' },
  };
}
