import { describe, expect, it } from 'vitest';
import { MASK, createMasker, maskPatterns } from './mask.js';

describe('createMasker', () => {
  it('masks each declared secret wherever it appears', () => {
    const mask = createMasker(['hunter2', 'p@ss.w0rd*']);
    expect(mask('login hunter2 and hunter2 again')).toBe('login *** and *** again');
    expect(mask('pw=p@ss.w0rd* ok')).toBe('pw=*** ok');
    expect(mask('nothing here')).toBe('nothing here');
  });

  it('masks the longest secret first', () => {
    const mask = createMasker(['abc', 'abcdef']);
    expect(mask('x abcdef y abc')).toBe('x *** y ***');
  });

  it('ignores empty and very short values', () => {
    const mask = createMasker(['', 'a', 'no', 'yes']);
    expect(mask('a no yes')).toBe('a no ***');
    expect(mask('')).toBe('');
  });

  it('treats regex metacharacters in secrets literally', () => {
    const mask = createMasker(['a.c', '(x|y)+', 'd$/e-f']);
    expect(mask('abc a.c')).toBe('abc ***');
    expect(mask('xxyy (x|y)+')).toBe('xxyy ***');
    expect(mask('z d$/e-f')).toBe('z ***');
  });

  it('masks JSON-escaped and URL-encoded forms', () => {
    const mask = createMasker(['pa"ss word']);
    expect(mask('{"password":"pa\\"ss word"}')).toBe('{"password":"***"}');
    expect(mask('?p=pa%22ss%20word')).toBe('?p=***');
  });

  it('masks base64 forms: standard, unpadded and URL-safe', () => {
    const secret = 'tok?en>>value~';
    const mask = createMasker([secret]);
    const b64 = Buffer.from(secret).toString('base64');
    expect(b64).toMatch(/=$/);
    expect(mask(`Authorization: Basic ${b64}`)).toBe('Authorization: Basic ***');
    expect(mask(`x ${b64.replace(/=+$/, '')} y`)).toBe('x *** y');
    expect(mask(`token: ${Buffer.from(secret).toString('base64url')}`)).toBe('token: ***');
  });

  it('masks each line of a multi-line secret', () => {
    const key = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----';
    const mask = createMasker([key]);
    expect(mask('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')).toBe(MASK);
    expect(mask(key)).toBe(MASK);
  });

  it('is stateless between calls (global regex lastIndex)', () => {
    const mask = createMasker(['secret']);
    for (let i = 0; i < 3; i++) expect(mask('secret secret')).toBe('*** ***');
  });
});

describe('credential patterns', () => {
  const cases: Array<[string, string]> = [
    ['token xoxb-123456789012-abcdefABCDEF done', 'token *** done'],
    ['xoxp-1-2-3-abcdef', '***'],
    ['app xapp-1-A0123-456-abcdef', 'app ***'],
    ['GH_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'GH_TOKEN=***'],
    ['gho_ABCDEFGHIJKLMNOPQRSTUV1234', '***'],
    ['ghs_ABCDEFGHIJKLMNOPQRSTUV1234.', '***.'],
    ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', '***'],
    ['key AKIAIOSFODNN7EXAMPLE used', 'key *** used'],
    ['Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig-_== next', 'Authorization: Bearer *** next'],
    ['authorization: bearer abc12345', 'authorization: bearer ***'],
    ['posting to https://hooks.slack.com/services/T000/B000/XXXXXXXX now', 'posting to https://hooks.slack.com/*** now'],
    ['"https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/x/y"', '"https://contoso.webhook.office.com/***"'],
    ['https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual?sig=xyz', 'https://prod-12.westus.logic.azure.com:443/***'],
    ['git clone https://user:t0ps3cret@github.com/x/y.git', 'git clone https://user:***@github.com/x/y.git'],
  ];
  it.each(cases)('masks %s', (input, expected) => {
    expect(maskPatterns(input)).toBe(expected);
    expect(createMasker(['unrelated-secret'])(input)).toBe(expected);
  });

  it('leaves ordinary text alone', () => {
    const text = 'deployed v1.2.3 to prod in 12s; see https://example.com/runs/1 (Bearer of good news)';
    expect(maskPatterns(text)).toBe(text);
    expect(maskPatterns('ghp_short xox-nope AKIA123')).toBe('ghp_short xox-nope AKIA123');
  });
});

describe('many secrets over many lines', () => {
  it('masks exactly the lines that hold one, across 100k lines and 50 secrets (its speed is in bench/)', () => {
    const secrets = Array.from({ length: 50 }, (_, i) => `secret-value-${i}-${'x'.repeat(i)}`);
    const mask = createMasker(secrets);
    const lines = Array.from({ length: 100_000 }, (_, i) =>
      i % 100 === 0 ? `line ${i} has secret-value-7-xxxxxxx inside` : `line ${i}: an ordinary log line with some words in it`,
    );
    let masked = 0;
    for (const line of lines) if (mask(line) !== line) masked++;
    expect(masked).toBe(1000);
  });
});
