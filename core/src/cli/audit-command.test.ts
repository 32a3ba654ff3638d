import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { entries, entry, lines, RUN, sealAll, tempDir, writeTrail } from '../../../tests/fixtures/audit/trails.js';
import { runCli, type CliIO } from './cli.js';
import { HELP } from './help.js';
import { auditTrailHead } from '../audit/head.js';

/* `rollgate audit verify|query|report`, driven in-process. */
async function cli(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    out: { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) },
    env,
    color: false,
    installSignals: () => {},
  };
  const code = await runCli(['audit', ...args], io);
  return { code, stdout, stderr };
}

async function trail(key?: string) {
  const dir = await tempDir();
  const file = await writeTrail(dir, `${RUN}.jsonl`, sealAll(entries(6, (i) => ({ kind: i === 0 ? 'run.started' : 'stage.finished', stage: i === 0 ? undefined : 'web' })), key ? { key } : {}));
  return { dir, file };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('rollgate audit', () => {
  it('prints its help, and refuses a missing or unknown subcommand and unknown flags', async () => {
    for (const args of [['--help'], ['-h'], ['help'], ['verify', '--help'], ['query', '-h']]) expect(await cli(args)).toEqual({ code: 0, stdout: HELP.audit, stderr: '' });
    expect(HELP.audit).toMatch(/^Usage: rollgate audit verify FILE\|DIR\.\.\. \[--key-env NAME\]/);
    expect(await cli([])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^rollgate audit: missing subcommand: use verify, query or report\n\nUsage: rollgate audit/) });
    expect(await cli(['list'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^rollgate audit: unknown subcommand 'list': use verify, query or report/) });
    expect(await cli(['verify', '--since', '1d'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^rollgate audit verify: Unknown option '--since'.*\nSee 'rollgate audit --help'\.\n$/s) });
    const top = await runCli(['help', 'audit'], { out: { stdout: () => {}, stderr: () => {} }, env: {}, color: false, installSignals: () => {} });
    expect(top).toBe(0);
  });
});

describe('rollgate audit verify', () => {
  it('says intact with exit 0, and notes HMACs it could not check', async () => {
    const { file } = await trail();
    expect(await cli(['verify', file])).toEqual({ code: 0, stdout: 'intact: 6 entries in 1 file(s); every hash matches its entry and links to the one before\n', stderr: '' });
    const signed = await trail('k');
    expect((await cli(['verify', signed.dir])).stdout).toBe(
      'intact: 6 entries in 1 file(s); every hash matches its entry and links to the one before; the entries carry HMACs, not checked: pass --key-env NAME (or set ROLLGATE_AUDIT_KEY) to check them\n',
    );
  });

  it('checks HMACs with the key from --key-env, or from ROLLGATE_AUDIT_KEY when set', async () => {
    const { file } = await trail('k');
    expect((await cli(['verify', file, '--key-env', 'MY_KEY'], { MY_KEY: 'k' })).stdout).toMatch(/; every HMAC matches the key in \$MY_KEY\n$/);
    expect((await cli(['verify', file], { ROLLGATE_AUDIT_KEY: 'k' })).stdout).toMatch(/; every HMAC matches the key in \$ROLLGATE_AUDIT_KEY\n$/);
    const wrong = await cli(['verify', file], { ROLLGATE_AUDIT_KEY: 'other' });
    expect(wrong).toEqual({
      code: 1,
      stdout: `BROKEN: ${file}:1: HMAC of entry 1 does not match (wrong key, or written by someone without it)\nThe 0 entries before it verify; from this line on, the trail cannot be trusted.\n`,
      stderr: '',
    });
    expect(await cli(['verify', file, '--key-env', 'MY_KEY'], { MY_KEY: '' })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'rollgate audit verify: --key-env MY_KEY: the environment variable MY_KEY is not set (or is empty); export the HMAC key the trail was written with\n',
    });
  });

  it('with --head, checks that the trail ends at the head recorded at the run’s end: a trail cut short is caught', async () => {
    const dir = await tempDir();
    const sealed = sealAll(entries(6));
    const full = await writeTrail(dir, 'full.jsonl', lines(sealed));
    const head = (await auditTrailHead(full)) as { seq: number; hash: string };
    expect(head.seq).toBe(6);
    expect(await cli(['verify', full, '--head', head.hash])).toEqual({
      code: 0,
      stdout: 'intact: 6 entries in 1 file(s); every hash matches its entry and links to the one before; it ends at the recorded head\n',
      stderr: '',
    });
    const cut = await writeTrail(dir, 'cut.jsonl', lines(sealed).slice(0, 4));
    expect(await cli(['verify', cut])).toMatchObject({ code: 0 });
    expect(await cli(['verify', cut, '--head', head.hash])).toEqual({
      code: 1,
      stdout: `TRUNCATED OR DIFFERENT: the trail does not end at the head ${head.hash}; it ends at entry 4 (${sealed[3]?.hash}). The entries present verify, but the trail is not the one whose head was recorded.\n`,
      stderr: '',
    });
    expect(await auditTrailHead(join(dir, 'none.jsonl'))).toEqual({ seq: 0, hash: null });
  });

  it('exits 1 at the first broken entry with its file:line and reason', async () => {
    const dir = await tempDir();
    const t = lines(sealAll(entries(8)));
    const file = await writeTrail(dir, 'run.jsonl', [...t.slice(0, 4), ...t.slice(5)]);
    expect(await cli(['verify', file])).toMatchObject({
      code: 1,
      stdout: `BROKEN: ${file}:5: entry 5 is missing (seq jumps from 4 to 6)\nThe 4 entries before it verify; from this line on, the trail cannot be trusted.\n`,
    });
    const garbled = await writeTrail(dir, 'garbled.jsonl', [...t.slice(0, 2), 'x']);
    expect((await cli(['verify', garbled])).stdout).toMatch(/^BROKEN: .*garbled\.jsonl:3: line 3 is not JSON\nThe 2 entries before/);
  });

  it('warns about a torn last line and still exits 0', async () => {
    const dir = await tempDir();
    const t = lines(sealAll(entries(3)));
    const file = await writeTrail(dir, 'run.jsonl', `${t.join('\n')}\n{"format":"rollgate/audit@1","seq":4`);
    expect(await cli(['verify', file])).toEqual({
      code: 0,
      stdout: 'intact: 3 entries in 1 file(s); every hash matches its entry and links to the one before\n',
      stderr: `warning: ${file}:4: the last line is incomplete: the writer stopped mid-write (not an entry; the entries before it are checked)\n`,
    });
  });

  it('warns about a line a crash cut short inside the trail, after which the chain goes on, and still exits 0', async () => {
    const dir = await tempDir();
    const t = lines(sealAll(entries(5)));
    const file = await writeTrail(dir, 'run.jsonl', [...t.slice(0, 3), (t[3] as string).slice(0, 30), ...t.slice(3)]);
    expect(await cli(['verify', file])).toEqual({
      code: 0,
      stdout: 'intact: 5 entries in 1 file(s); every hash matches its entry and links to the one before\n',
      stderr: `warning: ${file}:4: cut short by a crash; the chain continues intact after it (not an entry; nothing is missing from the chain)\n`,
    });
  });

  it('refuses missing arguments, missing paths and folders without trails with exit 2', async () => {
    expect(await cli(['verify'])).toMatchObject({ code: 2, stderr: "rollgate audit verify: missing FILE: rollgate audit verify FILE... (a run's .jsonl files in order, or a folder)\n" });
    const dir = await tempDir();
    expect(await cli(['verify', join(dir, 'nope.jsonl')])).toMatchObject({ code: 2, stderr: expect.stringMatching(/nope\.jsonl: no such file or folder/) });
    expect(await cli(['verify', dir])).toMatchObject({ code: 2, stderr: `rollgate audit verify: no audit files (*.jsonl) in ${dir}\n` });
  });
});

describe('rollgate audit query', () => {
  it('prints a table by default, with a count on stderr', async () => {
    const { dir } = await trail();
    const r = await cli(['query', dir, '--kind', 'run.*']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(3);
    expect(r.stdout).toMatch(/^TIME \(UTC\) +RUN +ENV.*\n2026-01-01 00:00:00 {2}web-20260101-000000-abc123 .* run\.started /);
    expect(r.stderr).toBe('1 of 6 entries matched (1 file(s))\n');
  });

  it('prints JSON Lines as written, and CSV, with every filter', async () => {
    const { dir, file } = await trail();
    const json = await cli(['query', dir, '--format', 'json', '--stage', 'web', '--outcome', 'succeeded', '--actor', 'alice', '--run', RUN, '--since', '2026-01-01T00:00:02Z', '--until', '2026-01-01T00:00:03Z']);
    const written = lines(sealAll(entries(6, (i) => ({ kind: i === 0 ? 'run.started' : 'stage.finished', stage: i === 0 ? undefined : 'web' }))));
    expect(json.stdout).toBe(`${written[2]}\n${written[3]}\n`);
    const csv = await cli(['query', file, '--format', 'csv', '--env', 'nowhere']);
    expect(csv).toMatchObject({ code: 0, stdout: expect.stringMatching(/^time,run,seq,.*,hash,sim_time\r\n$/), stderr: '0 of 6 entries matched (1 file(s))\n' });
  });

  it('reads .rollgate/audit by default, and warns about skipped lines', async () => {
    const cwd = await tempDir();
    vi.spyOn(process, 'cwd').mockReturnValue(cwd);
    expect(await cli(['query'])).toMatchObject({ code: 2, stderr: `rollgate audit query: no audit trail at ${join(cwd, '.rollgate/audit')} (the default): pass the folder or files that hold it, e.g. a downloaded CI artifact\n` });
    await mkdir(join(cwd, '.rollgate/audit'), { recursive: true });
    const file = await writeTrail(join(cwd, '.rollgate/audit'), 'r.jsonl', [JSON.stringify(sealAll([entry()])[0]), 'oops', 'oops']);
    const r = await cli(['query', '--format', 'json']);
    expect(r.stderr).toBe(`1 of 1 entries matched (1 file(s))\nwarning: 2 line(s) skipped: not entries (cut short by a crash, or damaged), the first at ${file}:2; 'rollgate audit verify' tells which\n`);
  });

  it('skips entries whose fields have the wrong type, in every format, and never fails on them', async () => {
    const dir = await tempDir();
    const good = lines(sealAll(entries(2)));
    const bad = JSON.stringify({ ...JSON.parse(good[1] as string), changes: 'no', ci: null });
    const file = await writeTrail(dir, `${RUN}.jsonl`, [good[0] as string, bad]);
    for (const format of ['table', 'json', 'csv']) {
      const r = await cli(['query', file, '--format', format]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`1 of 1 entries matched (1 file(s))\nwarning: 1 line(s) skipped: not entries (cut short by a crash, or damaged), the first at ${file}:2; 'rollgate audit verify' tells which\n`);
    }
    const report = await cli(['report', '--run', RUN, file]);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(new RegExp(`^# Run report: ${RUN}\n`));
  });

  it('refuses a bad format or filter with exit 2', async () => {
    const { dir } = await trail();
    expect(await cli(['query', dir, '--format', 'xml'])).toMatchObject({ code: 2, stderr: "rollgate audit query: --format 'xml': use table, json, csv\n" });
    expect(await cli(['query', dir, '--since', 'last week'])).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^rollgate audit query: --since 'last week' is neither a date/) });
  });
});

describe('rollgate audit report', () => {
  it('prints the Markdown report of a run', async () => {
    const { dir } = await trail();
    const r = await cli(['report', '--run', RUN, dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^# Run report: ${RUN}\n`));
    const signed = await trail('k');
    expect((await cli(['report', '--run', RUN, signed.dir, '--key-env', 'K'], { K: 'k' })).stdout).toContain('Every HMAC matches the key given.');
  });

  it('reads the default folder, and refuses a missing --run or an unknown run with exit 2', async () => {
    const cwd = await tempDir();
    vi.spyOn(process, 'cwd').mockReturnValue(cwd);
    await writeTrail(join(cwd, '.rollgate/audit'), `${RUN}.jsonl`, sealAll([entry()]));
    expect((await cli(['report', '--run', RUN])).stdout).toContain('- **Workflow:** web');
    expect(await cli(['report'])).toMatchObject({ code: 2, stderr: "rollgate audit report: missing --run ID: rollgate audit report --run ID [PATH...]; 'rollgate audit query --kind run.started' lists the runs\n" });
    expect(await cli(['report', '--run', 'x'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^rollgate audit report: run x is not in the audit trail at .*; runs found: web-20260101-000000-abc123\./) });
  });
});
