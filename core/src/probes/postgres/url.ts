import type { SslMode } from './connection.js';

/** What a connection URL holds. */
export interface UrlParts {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  sslmode: SslMode | undefined;
}

const SSL_MODES: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * Reads a libpq connection URL, `postgres[ql]://user:password@host:port/database?sslmode=…`;
 * user, password, host (a directory for a unix socket), port, dbname may be query parameters too. Errors say what is wrong with it without quoting it: the URL
 * holds the password. `name` is the environment variable it came from.
 */
export function parseConnectionUrl(text: string, name: string): UrlParts {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${name} does not hold a valid URL; write it as postgres://user:password@host:5432/database`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`${name} holds a ${url.protocol.replace(/:$/, '')}: URL; expected postgres://user:password@host:5432/database`);
  }
  // As libpq, parameters may also come as ?user=…&host=/dir (a unix socket has no URL host).
  const param = (key: string) => url.searchParams.get(key) ?? undefined;
  const user = param('user') ?? decode(url.username);
  if (!user) throw new Error(`the URL in ${name} names no user; write it as postgres://user:password@host:5432/database`);
  const host = param('host') ?? (url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost');
  const port = Number(param('port') ?? (url.port || 5432));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`the URL in ${name} has a port that is not one`);
  const sslmode = param('sslmode');
  if (sslmode !== undefined && !SSL_MODES.includes(sslmode)) {
    throw new Error(`the URL in ${name} has sslmode=${sslmode}; expected one of ${SSL_MODES.join(', ')}`);
  }
  const password = param('password') ?? (url.password ? decode(url.password) : undefined);
  return {
    host,
    port,
    user,
    password,
    database: param('dbname') ?? (decode(url.pathname.replace(/^\//, '')) || user),
    // libpq's `allow` tries without TLS first: `prefer` with a server that refuses TLS is the same.
    sslmode: sslmode === 'allow' ? 'prefer' : (sslmode as SslMode | undefined),
  };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
