/**
 * The delay a `Retry-After` header asks for (seconds, or an HTTP date), in ms; `undefined` when
 * absent or unreadable. One reading for every client: chat APIs, the audit collector, cloud APIs.
 */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
