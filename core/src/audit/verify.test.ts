import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, lines, reseal, sealAll, tempDir, writeTrail } from '../../../tests/fixtures/audit/trails.js';
import { loadTestWorkflow, runTestWorkflow } from '../testing/workflows.js';
import type { AuditEntry } from './entry.js';
import { CUT_SHORT_MESSAGE, TORN_MESSAGE, verifyTrail } from './verify.js';

/* Every kind of damage, detected at the right line with the right reason. */
const ten = () => sealAll(entries(10));

async function verifyLines(content: string[] | string, opts: { key?: string } = {}) {
  const file = await writeTrail(await tempDir(), 'run.jsonl', content);
  return { file, result: await verifyTrail([file], opts) };
}

describe('verifyTrail on intact trails', () => {
  it('accepts a sealed trail, and an empty file', async () => {
    const trail = ten();
    const { result } = await verifyLines(lines(trail));
    // The head is the last entry's hash: what `audit verify --head` compares against.
    expect(result).toEqual({ ok: true, entries: 10, files: 1, signed: 0, hmacChecked: false, torn: [], head: { seq: 10, hash: trail[9]!.hash } });
    expect((await verifyLines('')).result).toMatchObject({ ok: true, entries: 0 });
  });

  it('accepts the trail of a real run, with its HMAC checked only when the key is given', async () => {
    const dir = await tempDir();
    const loaded = loadTestWorkflow({
      sim: { services: { web: { version: 'v1' } } },
      audit: { hmacKeyEnv: 'AUDIT_KEY', sinks: [{ type: 'file', dir }] },
      stages: [{ name: 'web', environment: 'staging', target: { type: 'sim', service: 'web' } }],
    });
    const { outcome } = await runTestWorkflow(loaded, { env: { AUDIT_KEY: 's3cret' } });
    const file = join(dir, `${outcome.journal.runId}.jsonl`);
    const count = (await readFile(file, 'utf8')).trim().split('\n').length;
    expect(await verifyTrail([file], { key: 's3cret' })).toMatchObject({ ok: true, entries: count, signed: count, hmacChecked: true });
    expect(await verifyTrail([file])).toMatchObject({ ok: true, signed: count, hmacChecked: false });
    expect((await verifyTrail([file], { key: 'guess' })).firstBroken).toEqual({
      file,
      line: 1,
      seq: 1,
      reason: 'HMAC of entry 1 does not match (wrong key, or written by someone without it)',
    });
  });

  it('continues the chain across the files of one run, and accepts files that start their own', async () => {
    const dir = await tempDir();
    const trail = lines(ten());
    const first = await writeTrail(dir, 'a/run.jsonl', trail.slice(0, 4));
    const rest = await writeTrail(dir, 'b/run.jsonl', trail.slice(4));
    const other = await writeTrail(dir, 'other.jsonl', lines(sealAll(entries(3, () => ({ runId: 'other' })))));
    expect(await verifyTrail([first, rest, other])).toMatchObject({ ok: true, entries: 13, files: 3 });
    // Alone, or in the wrong order, the second part links to entries that are not there.
    for (const files of [[rest], [rest, first]]) {
      expect((await verifyTrail(files)).firstBroken).toEqual({
        file: rest,
        line: 1,
        seq: 5,
        reason: 'the trail starts at entry 5, which links to an entry before it that is not in the files given (if that entry is in another file, pass that file first)',
      });
    }
  });

  it('warns about a last line cut short by a crash, in every file, without calling it tampering', async () => {
    const dir = await tempDir();
    const trail = lines(ten());
    const cut = (s: string[]) => `${s.slice(0, -1).join('\n')}\n${(s.at(-1) as string).slice(0, 40)}`;
    const a = await writeTrail(dir, 'a.jsonl', cut(trail));
    const b = await writeTrail(dir, 'b.jsonl', cut(lines(sealAll(entries(3)))));
    const result = await verifyTrail([a, b]);
    expect(result).toMatchObject({ ok: true, entries: 11, tornLastLine: { file: a, line: 10, message: TORN_MESSAGE } });
    expect(result.torn).toEqual([
      { file: a, line: 10, message: TORN_MESSAGE },
      { file: b, line: 3, message: TORN_MESSAGE },
    ]);
    expect(TORN_MESSAGE).toBe('the last line is incomplete: the writer stopped mid-write');
  });

  it('accepts a whole last entry that lacks only its newline', async () => {
    const { result } = await verifyLines(lines(ten()).join('\n'));
    expect(result).toMatchObject({ ok: true, entries: 10, torn: [] });
  });
});

describe('verifyTrail after a crash and a resume', () => {
  /** Entries 1–5 whole, a fragment of what would have been entry 6, then the resumed writer's 6–8. */
  const recovered = (fragments = 1) => {
    const t = ten();
    const fragment = JSON.stringify(t[5]).slice(0, 50);
    return [...lines(t.slice(0, 5)), ...Array.from({ length: fragments }, () => fragment), ...lines(t.slice(5, 8))];
  };

  it('reports a line cut short by a crash as a warning, not a break, when the entry after it continues the chain', async () => {
    const { file, result } = await verifyLines(recovered());
    expect(result).toEqual({
      ok: true, entries: 8, files: 1, signed: 0, hmacChecked: false,
      torn: [{ file, line: 6, message: CUT_SHORT_MESSAGE }], head: { seq: 8, hash: ten()[7]!.hash },
    });
    expect(CUT_SHORT_MESSAGE).toBe('cut short by a crash; the chain continues intact after it');
  });

  it('accepts several fragments in a row (a disk full at each try), and one at the start of a file whose chain starts after it', async () => {
    const { file, result } = await verifyLines(recovered(3));
    expect(result.ok).toBe(true);
    expect(result.torn.map((t) => t.line)).toEqual([6, 7, 8]);
    const fresh = await verifyLines(['{"format":"rollgate/au', ...lines(sealAll(entries(2)))]);
    expect(fresh.result).toMatchObject({ ok: true, entries: 2, torn: [{ file: fresh.file, line: 1, message: CUT_SHORT_MESSAGE }] });
    expect(file).toMatch(/run\.jsonl$/);
  });

  it('still calls it a break when the entry after the fragment does not continue from the last whole entry, or is no entry, or nothing follows', async () => {
    const t = lines(ten());
    const fragment = (t[5] as string).slice(0, 50);
    // The fragment stands for entries that were removed: entry 6 is gone.
    expect(await broken([...t.slice(0, 5), fragment, ...t.slice(6)])).toEqual({ file: 'FILE', line: 6, reason: 'line 6 is not JSON' });
    expect(await broken([...t.slice(0, 5), fragment, '{"a":1}', ...t.slice(5)])).toMatchObject({ line: 6, reason: 'line 6 is not JSON' });
    expect(await broken([...t.slice(0, 5), fragment])).toMatchObject({ line: 6, reason: 'line 6 is not JSON' });
    // A fragment, then an incomplete last line: nothing shows the chain went on.
    expect(await broken(`${[...t.slice(0, 5), fragment].join('\n')}\n${fragment}`)).toMatchObject({ line: 6, reason: 'line 6 is not JSON' });
  });
});

const broken = async (content: string[] | string, opts: { key?: string } = {}) => {
  const { file, result } = await verifyLines(content, opts);
  expect(result.ok).toBe(false);
  return { ...result.firstBroken, file: result.firstBroken?.file === file ? 'FILE' : result.firstBroken?.file };
};

describe('verifyTrail on damaged trails', () => {
  const edit = (trail: AuditEntry[], i: number, e: AuditEntry) => lines(trail.map((x, j) => (j === i ? e : x)));

  it('detects an edited value at its entry', async () => {
    const trail = ten();
    expect(await broken(edit(trail, 6, { ...trail[6], message: 'nothing to see' } as AuditEntry))).toEqual({
      file: 'FILE',
      line: 7,
      seq: 7,
      reason: 'entry 7 was changed (its hash does not match its content)',
    });
  });

  it('detects an edited entry sealed again: at the next link without a key, at the entry with one', async () => {
    const trail = ten();
    const forged = reseal(trail[6] as AuditEntry, { outcome: 'failed' });
    expect(await broken(edit(trail, 6, forged))).toMatchObject({ line: 8, seq: 8, reason: 'the chain breaks: prevHash of entry 8 is not the hash of entry 7' });
    const signed = sealAll(entries(10), { key: 'k' });
    // Without the key the forger can only keep the old HMAC (or drop it: see below).
    const forgedSigned = { ...reseal(signed[6] as AuditEntry, { outcome: 'failed' }), hmac: signed[6]?.hmac };
    expect(await broken(edit(signed, 6, forgedSigned), { key: 'k' })).toMatchObject({
      line: 7,
      reason: 'HMAC of entry 7 does not match (wrong key, or written by someone without it)',
    });
  });

  it('detects a deleted entry, and several', async () => {
    const trail = lines(ten());
    expect(await broken([...trail.slice(0, 4), ...trail.slice(5)])).toEqual({ file: 'FILE', line: 5, seq: 6, reason: 'entry 5 is missing (seq jumps from 4 to 6)' });
    // Lines after the gap that are not entries do not get in the way of the explanation.
    const damagedAfter = [...trail.slice(0, 4), ...trail.slice(7, 9), 'garbage', 'null', trail[9] as string];
    expect(await broken(damagedAfter)).toMatchObject({ line: 5, seq: 8, reason: 'entries 5–7 are missing (seq jumps from 4 to 8)' });
  });

  it('detects two entries swapped, and an entry moved far', async () => {
    const t = lines(ten());
    const swapped = [t[0], t[1], t[2], t[4], t[3], ...t.slice(5)] as string[];
    expect(await broken(swapped)).toEqual({ file: 'FILE', line: 4, seq: 5, reason: 'entries are out of order: entry 4 is at line 5, after entry 5' });
    const moved = [t[0], t[8], ...t.slice(1, 8), t[9]] as string[];
    expect(await broken(moved)).toMatchObject({ line: 2, seq: 9, reason: 'entries are out of order: entry 2 is at line 3, after entry 9' });
  });

  it('detects a repeated entry and one from earlier in the chain', async () => {
    const t = lines(ten());
    expect(await broken([...t.slice(0, 3), t[2] as string, ...t.slice(3)])).toMatchObject({ line: 4, seq: 3, reason: 'entry 3 is repeated (line 3 holds it too)' });
    expect(await broken([...t.slice(0, 3), t[0] as string])).toMatchObject({ line: 4, seq: 1, reason: 'entries are out of order: entry 1 comes after entry 3' });
  });

  it('detects a changed prevHash sealed again, and a chain that restarts mid-way', async () => {
    const trail = ten();
    expect(await broken(edit(trail, 4, reseal(trail[4] as AuditEntry, { prevHash: 'f'.repeat(64) })))).toMatchObject({
      line: 5,
      reason: 'the chain breaks: prevHash of entry 5 is not the hash of entry 4',
    });
    const late = sealAll(entries(3), { head: { seq: 4, hash: null } });
    expect(await broken(lines(late))).toMatchObject({
      line: 1,
      seq: 5,
      reason: 'entry 5 starts a chain (its prevHash is null), but chains start at entry 1: the entries before it are missing',
    });
  });

  it('detects a line cut short in the middle, and lines that are not entries', async () => {
    const t = lines(ten());
    // A crash mid-write followed by a resumed writer appending on the same line.
    const torn = `${t.slice(0, 5).join('\n')}\n${(t[5] as string).slice(0, 30)}${t.slice(6).join('\n')}\n`;
    expect(await broken(torn)).toEqual({ file: 'FILE', line: 6, reason: 'line 6 is not JSON' });
    const notEntry = "is not a rollgate audit entry (no format 'rollgate/audit@1')";
    expect(await broken([t[0] as string, '{"a":1}'])).toEqual({ file: 'FILE', line: 2, reason: `line 2 ${notEntry}` });
    expect(await broken(['null'])).toEqual({ file: 'FILE', line: 1, reason: `line 1 ${notEntry}` });
    const first = JSON.parse(t[0] as string) as Record<string, unknown>;
    for (const change of [{ seq: '1' }, { hash: 1 }, { prevHash: 0 }]) {
      expect(await broken([JSON.stringify({ ...first, ...change })])).toMatchObject({
        line: 1,
        reason: 'line 1 is not a rollgate audit entry (seq, hash or prevHash is missing or of the wrong type)',
      });
    }
  });

  it('treats a missing HMAC as broken when a key is given', async () => {
    expect(await broken(lines(ten()), { key: 'k' })).toMatchObject({
      line: 1,
      seq: 1,
      reason: 'entry 1 has no HMAC, but a key was given (written without the key, or its HMAC was removed)',
    });
    const signed = sealAll(entries(4), { key: 'k' });
    const { hmac: _hmac, ...stripped } = signed[2] as AuditEntry;
    expect(await broken(edit(signed, 2, stripped as AuditEntry), { key: 'k' })).toMatchObject({ line: 3, seq: 3 });
  });

  it('stops at the first break and closes the file it was reading', async () => {
    const dir = await tempDir();
    const t = lines(ten());
    // Far longer than one read of the stream, so the file is still open when the break is found.
    const bad = await writeTrail(dir, 'bad.jsonl', [t[0] as string, 'oops', ...lines(sealAll(entries(3000)))]);
    const good = await writeTrail(dir, 'good.jsonl', t);
    const result = await verifyTrail([bad, good]);
    expect(result).toMatchObject({ ok: false, entries: 1, files: 1, firstBroken: { file: bad, line: 2 } });
    // The reader of bad.jsonl was closed when verification stopped (Linux lists open files here).
    await new Promise((r) => setTimeout(r, 20));
    const fds = await readdir('/proc/self/fd').catch(() => [] as string[]);
    const open = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    expect(open).not.toContain(bad);
  });
});
