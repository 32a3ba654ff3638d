import { createHash, createHmac } from 'node:crypto';
import { AUDIT_FORMAT, type AuditEntry, type UnsealedEntry } from './entry.js';

/**
 * The hash chain. An entry's hash covers its canonical JSON (keys sorted, `hash` and `hmac` left
 * out), which includes the previous entry's hash: changing, removing or moving any entry breaks
 * every hash after it. With a key, an HMAC of each hash also proves who wrote the chain.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function hashOf(entry: Omit<AuditEntry, 'hash' | 'hmac'>): string {
  return createHash('sha256').update(canonicalJson(entry)).digest('hex');
}

export function hmacOf(hash: string, key: string): string {
  return createHmac('sha256', key).update(hash).digest('hex');
}

/** The end of a chain: what the next entry links to. */
export interface ChainHead {
  seq: number;
  hash: string | null;
}

export function seal(entry: UnsealedEntry, head: ChainHead, key?: string): AuditEntry {
  const body = { ...entry, format: AUDIT_FORMAT, seq: head.seq + 1, prevHash: head.hash } as Omit<AuditEntry, 'hash' | 'hmac'>;
  const hash = hashOf(body);
  return key ? { ...body, hash, hmac: hmacOf(hash, key) } : { ...body, hash };
}
