/**
 * The parts of an http audit sink's requests that can hold a credential (user info in the URL,
 * the bearer token, header values), built once, and the rule that keeps them out of every
 * message: URLs are named without user info or query, header values are never quoted, and what
 * a library error might echo is masked before it is shown.
 */
export interface RequestParts {
  url: URL;
  headers: Record<string, string>;
}

/** The fields of an http sink's config that requests are built from. */
export interface RequestSettings {
  url: string;
  headers?: Record<string, string> | undefined;
  bearerTokenEnv?: string | undefined;
}

/** The URL and headers of every request. Throws an Error whose message quotes no value. */
export function requestParts(config: RequestSettings, token: string | undefined): RequestParts {
  if (config.bearerTokenEnv && !token) throw new Error(`environment variable ${config.bearerTokenEnv} is not set (bearerTokenEnv)`);
  const url = new URL(config.url);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'rollgate-audit' };
  for (const [name, value] of Object.entries(config.headers ?? {})) setHeader(headers, name, value, `header ${name}`);
  if (url.username || url.password) {
    // Credentials in the URL are sent as Basic auth, as curl does, and never appear in messages.
    const basic = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  if (token) setHeader(headers, 'authorization', `Bearer ${token}`, `the token in ${config.bearerTokenEnv}`);
  return { url, headers };
}

/** An HTTP token (RFC 9110), and the characters a header value may hold: Node's own checks. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/** Refuses what Node's HTTP client would refuse, naming only what the value was (never the value). */
function setHeader(headers: Record<string, string>, name: string, value: string, what: string): void {
  const trimmed = value.trim();
  if (!HEADER_NAME.test(name) || BAD_VALUE_CHAR.test(trimmed)) {
    throw new Error(`${what} is not a valid HTTP header value (it holds a line break, or a character outside Latin-1)`);
  }
  headers[name.toLowerCase()] = trimmed;
}

/** The shortest value masked in messages: shorter ones (`1`, `json`) would garble the text. */
const MIN_MASKED = 6;

/**
 * Masks every value of `config` that can be a credential wherever it appears in `text`: the
 * token, the URL's user info and query, the header values. The last guard, behind messages
 * that are already built without them.
 */
export function redactor(config: RequestSettings, token: string | undefined): (text: string) => string {
  const url = new URL(config.url);
  const values = [token, url.username, url.password, url.search.slice(1), ...Object.values(config.headers ?? {})]
    .flatMap((v) => (v ? [v, safeDecode(v)] : []))
    .filter((v) => v.length >= MIN_MASKED)
    // Longest first, so a value that contains another is masked whole.
    .sort((a, b) => b.length - a.length);
  return (text) => values.reduce((out, v) => out.split(v).join('***'), text);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The URL without user info or query string, for messages. */
export function safeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** A rejected request in words, as every HTTP client of rollgate says it. */
export { describeRequestError as describeFetchError } from '../util/http-fetch.js';
