import { DeliveryError } from '../errors.js';
import { retryAfterMs } from '../util/retry-after.js';

export { DeliveryError, retryAfterMs };

/** Classifies an HTTP status the way most chat and webhook APIs mean it. */
export function deliveryErrorForStatus(status: number, what: string, retryAfter?: string | null): DeliveryError {
  if (status === 429) {
    const wait = retryAfterMs(retryAfter);
    return new DeliveryError(`${what}: rate limited (HTTP 429${wait !== undefined ? `, retry after ${wait} ms` : ''})`, {
      retryable: true,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    });
  }
  if (status >= 500 || status === 408) return new DeliveryError(`${what}: HTTP ${status}`, { retryable: true });
  if (status === 401 || status === 403 || status === 404 || status === 410) {
    return new DeliveryError(`${what}: HTTP ${status} (${status === 404 || status === 410 ? 'destination not found' : 'not allowed: check the credential'})`, { fatal: true });
  }
  return new DeliveryError(`${what}: HTTP ${status}`);
}
