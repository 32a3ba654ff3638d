import { DeliveryError, errorMessage } from '../errors.js';
import { deliveryErrorForStatus } from './delivery-error.js';
import { type HttpFetchResponse, httpFetch } from '../util/http-fetch.js';

/**
 * One JSON POST to a notification destination, its failure classified for the delivery queue.
 * `what` names the destination in messages (`webhook hooks.example.com`): the URL is never quoted,
 * since a webhook URL is itself a credential (Slack's path, Teams' `sig`).
 */
export async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number, what: string): Promise<void> {
  let res: HttpFetchResponse;
  try {
    res = await httpFetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw networkError(err, what, timeoutMs);
  }
  if (res.ok) {
    // Read to its end: an answer left unread holds its connection, and the process open with it.
    await res.text().catch(() => '');
    return;
  }
  // The body may say why (Slack's `channel_not_found`); read a little of it, never the request.
  const detail = (await res.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ').trim();
  const base = deliveryErrorForStatus(res.status, what, res.headers.get('retry-after'));
  if (!detail) throw base;
  throw new DeliveryError(`${base.message}: ${detail}`, {
    retryable: base.retryable,
    fatal: base.fatal,
    ...(base.retryAfterMs !== undefined ? { retryAfterMs: base.retryAfterMs } : {}),
  });
}

/** A request that got no answer: retryable, and said without the URL (fetch's errors quote it). */
export function networkError(err: unknown, what: string, timeoutMs: number): DeliveryError {
  const name = (err as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return new DeliveryError(`${what}: no answer within ${timeoutMs} ms`, { retryable: true });
  const cause = (err as { cause?: { code?: string } }).cause;
  const why = cause?.code === 'ECONNREFUSED' ? 'connection refused' : (cause?.code ?? errorMessage(err).replace(/https?:\/\/\S+/g, '<url>'));
  return new DeliveryError(`${what}: ${why}`, { retryable: true });
}

/** The host of a URL, the part of it safe to show. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}
