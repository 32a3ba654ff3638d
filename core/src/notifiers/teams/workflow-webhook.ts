import { DeliveryError, deliveryErrorForStatus, retryAfterMs } from '../delivery-error.js';
import { type HttpFetchResponse, httpFetch } from '../../util/http-fetch.js';

/**
 * Posting an Adaptive Card to a Teams channel through a Workflows (Power Automate) webhook: the
 * replacement for the Office 365 connectors Microsoft retired in May 2026.
 *
 * The URL carries its own credential (the `sig` query parameter), so it is handled like a token:
 * no message, error or description built here contains it (or its path); `describeWebhookUrl`
 * names the host only.
 *
 * What Workflows cannot do shapes this API: it returns no message id (so no update in place; use
 * the bot for that), and its 202 only says the flow was triggered, not that the card was posted.
 */

/** About what Workflows' "Post card in a chat or channel" accepts, all elements included. */
export const WORKFLOWS_MAX_CARD_BYTES = 28 * 1024;

/** The content type Workflows' template flow looks for in each attachment. */
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

const DEFAULT_TIMEOUT_MS = 10_000;

export interface TeamsWorkflowWebhook {
  /** Where it posts, safe to show: the host only. */
  readonly destination: string;
  /**
   * Posts one card. Resolves when Workflows accepted the request (HTTP 2xx, usually 202), which
   * means the flow was triggered, not that the card reached the channel: a flow that fails later
   * shows that only in its run history. Throws `DeliveryError` otherwise.
   */
  post(card: object): Promise<void>;
}

export interface TeamsWorkflowWebhookOptions {
  /** Gives up on one request after this long (default 10 s); the error is retryable. */
  timeoutMs?: number;
}

/**
 * True for the URL of a retired Office 365 connector ("incoming webhook"): `*.webhook.office.com`,
 * `outlook.office.com/webhook...` or `outlook.office365.com/webhook...`. Those stopped working in
 * May 2026; posting to them can only fail, so the caller should say how to replace them.
 */
export function retiredConnectorUrl(url: string): boolean {
  const parsed = parse(url);
  if (!parsed) return false;
  const host = parsed.hostname.toLowerCase();
  const path = parsed.pathname.toLowerCase();
  if (host === 'webhook.office.com' || host.endsWith('.webhook.office.com')) return true;
  return (host === 'outlook.office.com' || host === 'outlook.office365.com') && path.startsWith('/webhook');
}

/**
 * A description of a webhook URL that is safe in logs, warnings and the audit trail: the host
 * only. The path names the flow and the query holds the `sig` credential, so neither appears.
 */
export function describeWebhookUrl(url: string): string {
  const parsed = parse(url);
  if (!parsed) return 'Teams workflow webhook (unreadable URL)';
  const kind = retiredConnectorUrl(url) ? 'retired Teams connector' : 'Teams workflow';
  return `${kind} at ${parsed.host}`;
}

/**
 * A client for one Workflows webhook URL. Nothing is checked or sent until `post`, so building it
 * never throws; a URL that cannot work (unreadable, plain http to a remote host, a retired
 * connector) fails every post with a fatal `DeliveryError` that says what to do.
 */
export function createTeamsWorkflowWebhook(url: string, options: TeamsWorkflowWebhookOptions = {}): TeamsWorkflowWebhook {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const destination = describeWebhookUrl(url);
  const hide = redactor(url);
  const what = destination;

  async function post(card: object): Promise<void> {
    const unusable = unusableUrl(url);
    if (unusable) throw new DeliveryError(`${what}: ${unusable}`, { fatal: true });
    const body = JSON.stringify({ type: 'message', attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content: card }] });
    let response: HttpFetchResponse;
    try {
      response = await httpFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      // No `cause`: fetch errors can quote the URL they were given, and the URL is the secret.
      throw new DeliveryError(hide(`${what}: ${networkProblem(err, timeoutMs)}`), { retryable: true });
    }
    const text = await response.text().catch(() => '');
    if (response.ok) return;
    throw classify(response.status, response.headers.get('retry-after'), text, Buffer.byteLength(body), what, hide);
  }

  return { destination, post };
}

/**
 * What a Workflows answer means for delivery. 429 and 502/503/504 are worth retrying (after
 * `Retry-After` when given), 413 and 400 refuse this card for good, and 401/403/404 say the URL
 * itself no longer works (bad `sig`, flow turned off or deleted), so later cards would fail too.
 */
function classify(status: number, retryAfter: string | null, text: string, bytes: number, what: string, hide: (t: string) => string): DeliveryError {
  const code = errorCode(text);
  const detail = code ? ` ${code}` : '';
  const wait = retryAfterMs(retryAfter);
  const error = (message: string, options: ConstructorParameters<typeof DeliveryError>[1] = {}) => new DeliveryError(hide(`${what}: ${message}`), options);
  if (status === 429 || status === 502 || status === 503 || status === 504) {
    const why = status === 429 ? 'rate limited' : 'Power Automate is unavailable';
    const after = wait !== undefined ? `, retry after ${wait} ms` : '';
    return error(`${why} (HTTP ${status}${detail}${after})`, { retryable: true, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  if (status === 413) {
    return error(
      `Request Entity too large (HTTP 413): the request was ${kb(bytes)} and Workflows posts cards of about ${kb(WORKFLOWS_MAX_CARD_BYTES)} at most; shorten the card (fewer facts or lines)`,
    );
  }
  if (status === 400) return error(`the flow refused the request (HTTP 400${detail}): check that the card is a valid Adaptive Card 1.5 or lower`);
  if (status === 401 || status === 403) {
    return error(
      `not authorised (HTTP ${status}${detail}): the URL's signature is wrong or was regenerated, or a policy blocks the flow; copy the URL again from the workflow's trigger`,
      { fatal: true },
    );
  }
  if (status === 404) {
    return error(
      `no such workflow (HTTP 404${detail}): it was deleted or turned off, or its owner left; create a new one from the "Send webhook alerts to a channel" template`,
      { fatal: true },
    );
  }
  return deliveryErrorForStatus(status, what, retryAfter);
}

/** Why this URL cannot be posted to, before trying; `undefined` when it can. */
function unusableUrl(url: string): string | undefined {
  const parsed = parse(url);
  if (!parsed) return 'the webhook URL cannot be read: copy it again from the workflow\'s "When a Teams webhook request is received" trigger';
  if (retiredConnectorUrl(url)) {
    return 'this is an Office 365 connector URL, and connectors were retired in May 2026: create a workflow from the "Send webhook alerts to a channel" template in Teams and use its URL';
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:' && isLoopback(parsed.hostname)) return undefined;
  return 'the webhook URL must use https (its signature would travel in clear text otherwise)';
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * A network failure in words, from the error's `code` only (connection refused, DNS failure,
 * timeout); never its message, which may quote the request.
 */
export function networkProblem(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') {
    return `no answer within ${timeoutMs} ms (the request may still have been accepted)`;
  }
  const code = e?.cause?.code ?? e?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name does not resolve (${code})`;
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return `network error (${code})`;
  return 'network error (the connection failed or was closed without an answer)';
}

/** The error code of a JSON error body (`{"error":{"code":"..."}}`), when it is a plain word. */
export function errorCode(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown } | string; code?: unknown };
    const code = typeof body.error === 'object' && body.error !== null ? body.error.code : typeof body.error === 'string' ? body.error : body.code;
    return typeof code === 'string' && /^[A-Za-z][A-Za-z0-9_.]{0,79}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the URL, its path and its signature from a text, wherever they appear. */
function redactor(url: string): (text: string) => string {
  const parsed = parse(url);
  const secrets = [url, parsed?.pathname !== '/' ? parsed?.pathname : undefined, parsed?.search || undefined, parsed?.searchParams.get('sig') ?? undefined]
    .filter((s): s is string => typeof s === 'string' && s.length >= 4)
    .sort((a, b) => b.length - a.length);
  return (text) => secrets.reduce((out, s) => out.split(s).join('[redacted]'), text);
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
