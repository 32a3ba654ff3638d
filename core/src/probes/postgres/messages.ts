import { errorMessage } from '../../errors.js';
import { formatLimit } from '../../util/command-runner.js';
import { ConnectionError, ServerError } from './connection.js';

/** What a failure message needs to say where and what: never a password. */
export interface FailureContext {
  /** `user@host:port/database`. */
  label: string;
  where: string;
  user: string;
  database: string;
  /** The variable the password came from (`passwordEnv` or `urlEnv`), to say where to look. */
  credentialFrom: string | undefined;
  phase: 'connect' | 'query';
  /** Set when the probe itself stopped the work. */
  stopped: 'cancelled' | 'timeout' | undefined;
  timeoutMs: number;
  statementTimeoutMs: number | undefined;
  query: string | undefined;
}

const sqlstate = (err: ServerError) => (err.code ? ` (SQLSTATE ${err.code})` : '');

/** The query as messages show it: one line, cut short. */
export function shortQuery(query: string): string {
  const line = query.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

/** One sentence for a probe's `error`: what failed, where, and what to do. */
export function describeFailure(err: unknown, c: FailureContext): string {
  if (c.stopped === 'cancelled') return `cancelled while ${c.phase === 'connect' ? 'connecting to' : 'querying'} ${c.label}`;
  if (c.stopped === 'timeout') {
    return c.phase === 'connect'
      ? `no session with ${c.label} within ${formatLimit(c.timeoutMs)} (connect and log in)`
      : `query '${shortQuery(c.query ?? '')}' did not finish within ${formatLimit(c.timeoutMs)} on ${c.label}; it was cancelled on the server`;
  }
  if (err instanceof ServerError) return c.phase === 'connect' ? loginRefused(err, c) : queryFailed(err, c);
  if (err instanceof ConnectionError && err.kind === 'no-password') {
    return `${err.message}: set ${c.credentialFrom ? `the variable ${c.credentialFrom}` : 'passwordEnv (the environment variable holding it)'}`;
  }
  return errorMessage(err);
}

function loginRefused(err: ServerError, c: FailureContext): string {
  switch (err.code) {
    case '28P01':
    case '28000': {
      const check = c.credentialFrom ? `the password in ${c.credentialFrom}, ` : '';
      return `authentication of user ${c.user} failed at ${c.where}: ${err.message}${sqlstate(err)}; check ${check}the role and pg_hba.conf`;
    }
    case '3D000':
      return `database ${c.database} does not exist at ${c.where}${sqlstate(err)}`;
    case '57P03':
    case '53300':
      return `${c.where} does not accept connections now: ${err.message}${sqlstate(err)}`;
    default:
      return `${c.where} refused the session of ${c.user} on ${c.database}: ${err.message}${sqlstate(err)}`;
  }
}

function queryFailed(err: ServerError, c: FailureContext): string {
  const query = `query '${shortQuery(c.query ?? '')}'`;
  switch (err.code) {
    case '25006':
      return `${query} tried to write on ${c.label}, and the probe's transaction is read-only: ${err.message}${sqlstate(err)}. A probe query must only read`;
    case '57014':
      return `${query} was stopped on ${c.label}: ${err.message}${sqlstate(err)}${c.statementTimeoutMs === undefined ? '' : `; its statement_timeout was ${formatLimit(c.statementTimeoutMs)}`}`;
    case '42601':
      if (/multiple commands/.test(err.message)) return `${query} holds more than one statement; a probe runs exactly one${sqlstate(err)}`;
      break;
  }
  const hint = err.fields.H ? `; hint: ${err.fields.H}` : '';
  return `${query} failed on ${c.label}: ${err.message}${sqlstate(err)}${hint}`;
}

/**
 * A failure that says the session is gone, not that the query is wrong or slow: the socket closed,
 * a connection exception (SQLSTATE class 08), or the server ending the session (57P01 to 57P05:
 * shutdown, crash, restart, idle timeouts). 57014 is a statement cancelled: the session lives.
 */
export function endedSession(err: unknown): boolean {
  if (err instanceof ConnectionError) return err.kind === 'closed' || err.kind === 'socket';
  return err instanceof ServerError && /^(08...|57P0[1-5])$/.test(err.code);
}
