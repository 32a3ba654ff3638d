import { hashOf, hmacOf } from '../audit/chain.js';
import { AUDIT_FORMAT, type AuditEntry, type UnsealedEntry } from '../audit/entry.js';

/** An audit entry for tests of sinks and readers: event `eventSeq` of run `web-1`, one second apart. */
export function testAuditEntry(eventSeq: number, extra: Partial<UnsealedEntry> = {}): UnsealedEntry {
  return {
    format: AUDIT_FORMAT,
    ts: new Date(Date.UTC(2026, 0, 1) + eventSeq * 1000).toISOString(),
    runId: 'web-1',
    eventSeq,
    workflow: 'web',
    actor: 'alice',
    ci: { platform: 'local' },
    kind: 'step.output',
    outcome: 'info',
    message: `event ${eventSeq}`,
    changes: [],
    ...extra,
  };
}

/**
 * Checks that entries form one chain from seq 1: each hash recomputes, links to the one before,
 * and carries the HMAC of `key` (none without a key). Throws with the first problem.
 */
export function assertChain(entries: AuditEntry[], key?: string): AuditEntry[] {
  let prev: string | null = null;
  entries.forEach((e, i) => {
    const { hash, hmac, ...body } = e;
    const problem =
      e.seq !== i + 1
        ? `seq ${e.seq} at position ${i + 1}`
        : e.prevHash !== prev
          ? `entry ${e.seq} does not link to the one before`
          : hashOf(body) !== hash
            ? `entry ${e.seq} does not match its hash`
            : hmac !== (key ? hmacOf(hash, key) : undefined)
              ? `entry ${e.seq} has the wrong HMAC`
              : undefined;
    if (problem) throw new Error(`broken chain: ${problem}`);
    prev = hash;
  });
  return entries;
}
