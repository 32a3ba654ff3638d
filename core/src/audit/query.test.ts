import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, entry, lines, sealAll, tempDir, writeTrail } from '../../../tests/fixtures/audit/trails.js';
import { UsageError } from '../errors.js';
import type { AuditEntry } from './entry.js';
import { compileFilter, parseTimeBound, queryTrail, type AuditFilter } from './query.js';

/* Filters over a folder of trails, read as a stream. */
const RUN_A = 'web-20260101-000000-aaaaaa';
const RUN_B = 'api-20260102-000000-bbbbbb';

async function folder() {
  const dir = await tempDir();
  const a = sealAll([
    entry({ runId: RUN_A, eventSeq: 1, ts: '2026-01-01T00:00:00.000Z', kind: 'run.started', outcome: 'info', actor: 'alice' }),
    entry({ runId: RUN_A, eventSeq: 2, ts: '2026-01-01T00:01:00.000Z', kind: 'stage.started', outcome: 'info', stage: 'web', environment: 'staging' }),
    entry({ runId: RUN_A, eventSeq: 3, ts: '2026-01-01T00:02:00.000Z', kind: 'rollback.started', outcome: 'info', stage: 'web', environment: 'staging' }),
    entry({ runId: RUN_A, eventSeq: 4, ts: '2026-01-01T00:03:00.000Z', kind: 'rollback.finished', outcome: 'rolled-back', stage: 'web', environment: 'staging' }),
  ]);
  const b = sealAll([
    entry({ runId: RUN_B, eventSeq: 1, ts: '2026-01-02T00:00:00.000Z', kind: 'run.started', outcome: 'info', actor: 'bob' }),
    entry({ runId: RUN_B, eventSeq: 2, ts: '2026-01-02T00:05:00.000Z', kind: 'stage.finished', outcome: 'succeeded', stage: 'api', environment: 'production', actor: 'bob' }),
    entry({ runId: RUN_B, eventSeq: 3, ts: '2026-01-02T00:06:00.000Z', kind: 'rollbacks.are.not.this', outcome: 'info', actor: 'bob' }),
  ]);
  // Nested folders, a file that is not a trail, and torn and blank lines.
  await writeTrail(dir, `2026/01/${RUN_A}.jsonl`, `${lines(a).join('\n')}\n\n{"format":"rollgate/au`);
  await writeTrail(dir, `2026/02/${RUN_B}.jsonl`, [...lines(b).slice(0, 2), 'not json', 'null', lines(b)[2] as string]);
  await writeFile(join(dir, 'notes.txt'), 'not a trail\n');
  return dir;
}

async function query(inputs: string[], filter: AuditFilter, now?: number) {
  const seen: AuditEntry[] = [];
  const result = await queryTrail(inputs, filter, (e) => void seen.push(e), now === undefined ? {} : { now });
  return { result, seqs: seen.map((e) => `${e.runId.slice(0, 3)}#${e.eventSeq}`) };
}

describe('queryTrail', () => {
  it('reads every *.jsonl below a folder, in path order, skipping and counting lines that are not entries', async () => {
    const dir = await folder();
    const { result, seqs } = await query([dir], {});
    expect(seqs).toEqual(['web#1', 'web#2', 'web#3', 'web#4', 'api#1', 'api#2', 'api#3']);
    expect(result).toEqual({ files: 2, scanned: 7, matched: 7, skipped: 3, firstSkipped: { file: join(dir, `2026/01/${RUN_A}.jsonl`), line: 6 } });
  });

  it('leaves out the spool file of an http sink of undelivered entries when reading a folder, and reads it when named', async () => {
    const dir = await folder();
    const spooled = sealAll([entry({ runId: RUN_A, eventSeq: 9, kind: 'run.finished', outcome: 'succeeded' })], { head: { seq: 8, hash: 'f'.repeat(64) } });
    const spool = await writeTrail(dir, `${RUN_A}.undelivered.jsonl`, spooled);
    expect((await query([dir], {})).result.files).toBe(2);
    expect((await query([spool], {})).seqs).toEqual(['web#9']);
  });

  it('keeps files in the order given', async () => {
    const dir = await folder();
    const { seqs } = await query([join(dir, `2026/02/${RUN_B}.jsonl`), join(dir, '2026/01')], { kind: 'run.started' });
    expect(seqs).toEqual(['api#1', 'web#1']);
  });

  it('filters by run, environment, stage, actor, outcome and kind, all together', async () => {
    const dir = await folder();
    const cases: [AuditFilter, string[]][] = [
      [{ run: RUN_B }, ['api#1', 'api#2', 'api#3']],
      [{ env: 'staging' }, ['web#2', 'web#3', 'web#4']],
      [{ stage: 'api' }, ['api#2']],
      [{ actor: 'bob' }, ['api#1', 'api#2', 'api#3']],
      [{ outcome: 'rolled-back' }, ['web#4']],
      [{ kind: 'rollback.started' }, ['web#3']],
      [{ kind: 'rollback.*' }, ['web#3', 'web#4']],
      [{ kind: '*' }, ['web#1', 'web#2', 'web#3', 'web#4', 'api#1', 'api#2', 'api#3']],
      [{ run: RUN_A, kind: 'rollback.*', outcome: 'info' }, ['web#3']],
      [{ actor: 'nobody' }, []],
    ];
    for (const [filter, expected] of cases) expect((await query([dir], filter)).seqs, JSON.stringify(filter)).toEqual(expected);
  });

  it('filters by time, inclusive at both ends, with dates or durations back from now', async () => {
    const dir = await folder();
    expect((await query([dir], { since: '2026-01-01T00:02:00Z', until: '2026-01-02' })).seqs).toEqual(['web#3', 'web#4', 'api#1']);
    expect((await query([dir], { since: '2026-01-02T00:05:00.000Z' })).seqs).toEqual(['api#2', 'api#3']);
    const now = Date.parse('2026-01-02T00:06:00Z');
    expect((await query([dir], { since: '90s' }, now)).seqs).toEqual(['api#2', 'api#3']);
    expect((await query([dir], { until: '1d' }, now)).seqs).toEqual(['web#1', 'web#2', 'web#3', 'web#4']);
  });

  it('waits for a callback that returns a promise', async () => {
    const dir = await folder();
    const order: string[] = [];
    await queryTrail([dir], { run: RUN_A }, async (e) => {
      await new Promise((r) => setTimeout(r, 2));
      order.push(`done ${e.eventSeq}`);
    });
    expect(order).toEqual(['done 1', 'done 2', 'done 3', 'done 4']);
  });

  it('refuses bad filters and paths before reading anything', async () => {
    const dir = await folder();
    await expect(query([dir], { outcome: 'ok' })).rejects.toThrow(
      "--outcome 'ok' is not an outcome; use one of: succeeded, failed, skipped, paused, rolled-back, manual-intervention-required, cancelled, info",
    );
    await expect(query([dir], { outcome: 'toString' })).rejects.toThrow(UsageError);
    await expect(query([join(dir, 'missing')], {})).rejects.toThrow(`audit trail ${join(dir, 'missing')}: no such file or folder; pass the .jsonl files, or the folder that holds them`);
    expect(await query([await tempDir()], {})).toMatchObject({ result: { files: 0, scanned: 0 }, seqs: [] });
  });
});

describe('parseTimeBound and compileFilter', () => {
  const now = Date.parse('2026-03-01T00:00:00Z');

  it('reads durations in seconds to weeks, and ISO dates and times', () => {
    expect(parseTimeBound('since', '30s', now)).toBe(now - 30_000);
    expect(parseTimeBound('since', '15m', now)).toBe(now - 900_000);
    expect(parseTimeBound('since', '24h', now)).toBe(now - 86_400_000);
    expect(parseTimeBound('since', '7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseTimeBound('since', '2w', now)).toBe(now - 14 * 86_400_000);
    expect(parseTimeBound('until', '2026-01-31', now)).toBe(Date.UTC(2026, 0, 31));
    expect(parseTimeBound('until', '2026-01-31T12:00:00+02:00', now)).toBe(Date.UTC(2026, 0, 31, 10));
  });

  it('refuses what is neither, naming the flag', () => {
    for (const text of ['yesterday', '7', '7y', '2026-13-45', '']) {
      expect(() => parseTimeBound('until', text, now)).toThrow(
        `--until '${text}' is neither a date (2026-01-31, 2026-01-31T12:00:00Z) nor a duration back from now (30m, 24h, 7d, 2w)`,
      );
    }
  });

  it('excludes an entry without a readable time when a time filter is set', () => {
    const [e] = sealAll(entries(1));
    const match = compileFilter({ since: '2020-01-01' });
    expect(match(e as AuditEntry)).toBe(true);
    expect(match({ ...(e as AuditEntry), ts: 'whenever' })).toBe(false);
    expect(compileFilter({})({ ...(e as AuditEntry), ts: 'whenever' })).toBe(true);
  });
});
