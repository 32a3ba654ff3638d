import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashOf, hmacOf, seal, sealLine } from './chain.js';
import { AUDIT_FORMAT, type UnsealedEntry } from './entry.js';

const entry = (extra: Partial<UnsealedEntry> = {}): UnsealedEntry => ({
  format: AUDIT_FORMAT,
  ts: '2026-01-01T00:00:00.000Z',
  runId: 'web-1',
  eventSeq: 1,
  workflow: 'web',
  actor: 'alice',
  ci: { platform: 'local' },
  kind: 'run.started',
  outcome: 'info',
  message: 'run web-1 of web started by alice',
  changes: [],
  ...extra,
});

describe('hashOf', () => {
  it('hashes the JSON as written, so a JSON round trip (what verify does) gives the same hash', () => {
    const { hash, ...body } = seal(entry({ message: 'é\n "quoted" \u2028', changes: [{ object: 'o', field: 'f', before: 1e21, after: -0 }] }), { seq: 0, hash: null });
    expect(hashOf(JSON.parse(JSON.stringify(body)) as typeof body)).toBe(hash);
  });

  it('changes when the key order changes: a re-encoded line is an edited line', () => {
    const { hash, ...body } = seal(entry(), { seq: 0, hash: null });
    const { actor, ...rest } = body;
    expect(hashOf({ actor, ...rest } as typeof body)).not.toBe(hash);
  });
});

describe('sealLine', () => {
  it('gives the line to append and the new head', () => {
    const { line, head } = sealLine(entry(), { seq: 4, hash: 'a'.repeat(64) }, 'k');
    const parsed = JSON.parse(line) as { seq: number; prevHash: string; hash: string; hmac: string };
    expect(head).toEqual({ seq: 5, hash: parsed.hash });
    expect(parsed).toMatchObject({ seq: 5, prevHash: 'a'.repeat(64) });
    expect(parsed.hmac).toBe(hmacOf(parsed.hash, 'k'));
    expect(line.endsWith(`"hash":"${parsed.hash}","hmac":"${parsed.hmac}"}`)).toBe(true);
  });
});

describe('seal', () => {
  it('starts a chain: seq 1, no previous hash, a SHA-256 over the canonical JSON, no HMAC without a key', () => {
    const sealed = seal(entry(), { seq: 0, hash: null });
    expect(sealed).toMatchObject({ format: AUDIT_FORMAT, seq: 1, prevHash: null });
    expect(sealed.hmac).toBeUndefined();
    expect('hmac' in sealed).toBe(false);
    const { hash, ...body } = sealed;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(createHash('sha256').update(JSON.stringify(body)).digest('hex'));
    expect(hashOf(body)).toBe(hash);
  });

  it('links each entry to the one before it', () => {
    const first = seal(entry(), { seq: 0, hash: null });
    const second = seal(entry({ eventSeq: 2, kind: 'run.finished' }), { seq: first.seq, hash: first.hash });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(second.hash).not.toBe(first.hash);
  });

  it('continues a chain from any head (a resumed file)', () => {
    const sealed = seal(entry(), { seq: 41, hash: 'f'.repeat(64) });
    expect(sealed).toMatchObject({ seq: 42, prevHash: 'f'.repeat(64) });
  });

  it('adds an HMAC of the hash with a key', () => {
    const sealed = seal(entry(), { seq: 0, hash: null }, 'k3y');
    expect(sealed.hmac).toBe(createHmac('sha256', 'k3y').update(sealed.hash).digest('hex'));
    expect(hmacOf(sealed.hash, 'k3y')).toBe(sealed.hmac);
    expect(hmacOf(sealed.hash, 'other')).not.toBe(sealed.hmac);
    // The HMAC does not change what is hashed.
    expect(sealed.hash).toBe(seal(entry(), { seq: 0, hash: null }).hash);
  });

  it('detects any edit: a changed field, a changed link or a changed position changes the hash', () => {
    const { hash, ...body } = seal(entry(), { seq: 0, hash: null });
    expect(hashOf({ ...body, actor: 'mallory' })).not.toBe(hash);
    expect(hashOf({ ...body, prevHash: '0'.repeat(64) })).not.toBe(hash);
    expect(hashOf({ ...body, seq: 2 })).not.toBe(hash);
  });

  it('always stamps the format, whatever the entry says', () => {
    const sealed = seal({ ...entry(), format: 'something-else' as typeof AUDIT_FORMAT }, { seq: 0, hash: null });
    expect(sealed.format).toBe(AUDIT_FORMAT);
  });
});
