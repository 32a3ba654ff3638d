import { createHash, createHmac } from 'node:crypto';
import { AUDIT_FORMAT, type AuditEntry, type UnsealedEntry } from './entry.js';

/**
 * The hash chain. An entry's hash is the SHA-256 of its JSON line as written, without the `hash`
 * and `hmac` fields that close it; that JSON includes the previous entry's hash, so changing,
 * removing or moving any entry breaks every hash after it. With a key, an HMAC of each hash also
 * proves who wrote the chain.
 *
 * Hashing the line's own bytes, not a sorted re-encoding, costs one serialisation per entry; a
 * verifier re-creates those bytes exactly with JSON.stringify of the parsed entry (JSON.parse keeps
 * the key order, and JSON.stringify's output of what it parsed is stable).
 */
export function hashOf(entry: Omit<AuditEntry, 'hash' | 'hmac'>): string {
  return sha256(JSON.stringify(entry));
}

export function hmacOf(hash: string, key: string): string {
  return createHmac('sha256', key).update(hash).digest('hex');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The end of a chain: what the next entry links to. */
export interface ChainHead {
  seq: number;
  hash: string | null;
}

/** Links `entry` to `head`: its JSON line, ready to append, and the new head. */
export function sealLine(entry: UnsealedEntry, head: ChainHead, key?: string): { line: string; head: ChainHead } {
  const body = JSON.stringify({ ...entry, format: AUDIT_FORMAT, seq: head.seq + 1, prevHash: head.hash });
  const hash = sha256(body);
  const closing = key ? `,"hash":"${hash}","hmac":"${hmacOf(hash, key)}"}` : `,"hash":"${hash}"}`;
  return { line: `${body.slice(0, -1)}${closing}`, head: { seq: head.seq + 1, hash } };
}

/** The same, as an object (for sinks that send entries rather than lines). */
export function seal(entry: UnsealedEntry, head: ChainHead, key?: string): AuditEntry {
  return JSON.parse(sealLine(entry, head, key).line) as AuditEntry;
}
