import { describe, expect, it } from 'vitest';
import { entry, sealAll } from '../../../tests/fixtures/audit/trails.js';
import type { AuditEntry } from './entry.js';
import { csvRecord, formatChange, formatValue, queryFormatter, shortTime } from './query-format.js';

/* The three output formats of `audit query`. */
const [plain, rich] = sealAll([
  entry({ ts: '2026-01-02T03:04:05.678Z', kind: 'run.started', outcome: 'info', message: 'run started by alice' }),
  entry({
    ts: '2026-01-02T03:04:06.000Z',
    runId: 'a-very-long-workflow-name-20260102-030405-abcdef',
    environment: 'production',
    stage: 'web',
    step: 'deploy',
    actor: 'release-bot',
    ci: { platform: 'github', repository: 'acme/web', commit: 'abc123', ref: 'refs/heads/main', runUrl: 'https://ci.example/run/1' },
    kind: 'manual-intervention.required',
    outcome: 'manual-intervention-required',
    message: `says "hi", then\nsomething else, ${'x'.repeat(200)}`,
    changes: [
      { object: 'service/web', field: 'version', before: 'v1', after: 'v2' },
      { object: 'traffic/web', field: 'weight', before: null, after: 10 },
    ],
    evidence: { condition: 'error_rate < 0.01', values: { error_rate: 0.03 }, verdict: 'abort' },
    approval: { status: 'approved', by: 'carol', gate: 'approval-web' },
  }),
]) as [AuditEntry, AuditEntry];

describe('queryFormatter', () => {
  it('prints a table with fixed columns, truncating what is too long', () => {
    const table = queryFormatter('table');
    expect(table.header).toBe(
      'TIME (UTC)           RUN                           ENV           STAGE           ACTOR         KIND                  OUTCOME       MESSAGE\n',
    );
    const row = table.row(plain, '');
    expect(row).toBe(
      '2026-01-02 03:04:05  web-20260101-000000-abc123    -             -               alice         run.started           info          run started by alice\n',
    );
    const long = table.row(rich, '');
    const start = '2026-01-02 03:04:06  a-very-long-wo…030405-abcdef  production    web             release-bot   manual-intervention…  manual-inte…  says "hi", then something else, xxx';
    expect(long.slice(0, start.length)).toBe(start);
    // Every column starts where the header's does; the message ends in an ellipsis.
    expect(long.indexOf('production')).toBe(table.header.indexOf('ENV'));
    expect(long.indexOf('says')).toBe(table.header.indexOf('MESSAGE'));
    expect(long.trimEnd().endsWith('x…')).toBe(true);
    expect(long.trimEnd().length - long.indexOf('says')).toBe(120);
  });

  it('prints a dash for a field an entry lacks', () => {
    const row = queryFormatter('table').row({ ...plain, actor: undefined } as unknown as AuditEntry, '');
    expect(row).toMatch(/web-20260101-000000-abc123 {4}- {13}- {15}- {13}run\.started/);
  });

  it('prints JSON Lines as written', () => {
    const json = queryFormatter('json');
    expect(json.header).toBe('');
    expect(json.row(plain, '{"as":"written"}')).toBe('{"as":"written"}\n');
  });

  it('prints CSV with a header row, RFC 4180 quoting and CRLF line ends', () => {
    const csv = queryFormatter('csv');
    expect(csv.header).toBe(
      'time,run,seq,event_seq,workflow,environment,stage,step,actor,ci,repository,commit,ref,run_url,kind,outcome,message,changes,evidence,approval,hash,sim_time\r\n',
    );
    expect(csv.row(plain, '')).toBe(`2026-01-02T03:04:05.678Z,web-20260101-000000-abc123,1,1,web,,,,alice,local,,,,,run.started,info,run started by alice,,,,${plain.hash},\r\n`);
    // A simulated run's entry: real time first, the simulated clock's last.
    expect(csv.row({ ...plain, simTime: '2026-01-02T09:00:00.000Z' }, '').endsWith(`,${plain.hash},2026-01-02T09:00:00.000Z\r\n`)).toBe(true);
    const row = csv.row(rich, '');
    expect(row).toContain(',production,web,deploy,release-bot,github,acme/web,abc123,refs/heads/main,https://ci.example/run/1,manual-intervention.required,');
    expect(row).toContain(`,"says ""hi"", then\nsomething else, ${'x'.repeat(200)}",`);
    expect(row).toContain(',service/web version: v1 → v2; traffic/web weight: (none) → 10,');
    expect(row).toContain(',"{""condition"":""error_rate < 0.01"",""values"":{""error_rate"":0.03},""verdict"":""abort""}",');
    expect(row).toContain(',"{""status"":""approved"",""by"":""carol"",""gate"":""approval-web""}",');
    // An entry from another writer without ci or changes still gives a full record.
    const bare = csv.row({ ...plain, ci: undefined, changes: undefined } as unknown as AuditEntry, '');
    expect(bare.split(',')).toHaveLength(22);
  });

  it('quotes exactly the fields that need it', () => {
    expect(csvRecord(['a', 'b,c', 'd"e', 'f\rg', 'h\ni', 3, undefined, ''])).toBe('a,"b,c","d""e","f\rg","h\ni",3,,\r\n');
  });
});

describe('value helpers', () => {
  it('formats values, changes and times for people', () => {
    expect([formatValue(undefined), formatValue(null), formatValue('v2'), formatValue(3), formatValue({ a: [1] })]).toEqual(['(none)', '(none)', 'v2', '3', '{"a":[1]}']);
    expect(formatChange({ object: 'service/web', field: 'version', before: undefined, after: 'v2' })).toBe('service/web version: (none) → v2');
    expect(shortTime('2026-01-02T03:04:05.678Z')).toBe('2026-01-02 03:04:05');
    expect(shortTime(undefined)).toBe('undefined');
  });
});
