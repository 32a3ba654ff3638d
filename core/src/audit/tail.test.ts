import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, lines, sealAll, tempDir, writeTrail } from '../../../tests/fixtures/audit/trails.js';
import { tailOf } from './tail.js';

/* Where a trail ends, read from its end: the chain a resumed writer continues. */
describe('tailOf', () => {
  it('is an empty chain when there is no file, or an empty one', async () => {
    const dir = await tempDir();
    expect(await tailOf(join(dir, 'none.jsonl'))).toEqual({ seq: 0, hash: null, torn: false });
    expect(await tailOf(await writeTrail(dir, 'empty.jsonl', ''))).toEqual({ seq: 0, hash: null, torn: false });
  });

  it('finds the last entry of a trail far bigger than one read, with lines across block boundaries', async () => {
    const trail = sealAll(entries(300, () => ({ message: 'm'.repeat(1000) })));
    const file = await writeTrail(await tempDir(), 'big.jsonl', trail);
    expect(await tailOf(file)).toEqual({ seq: 300, hash: trail[299]?.hash, torn: false });
  });

  it('skips torn lines, blank lines and JSON that is no entry, back through earlier blocks', async () => {
    const trail = sealAll(entries(3));
    const junk = ['', 'null', '7', '{"hash":"no-seq"}', `{"format":"rollgate/audit@1","seq":4,"message":"${'z'.repeat(150_000)}`];
    const file = await writeTrail(await tempDir(), 'torn.jsonl', `${[...lines(trail), ...junk].join('\n')}`);
    expect(await tailOf(file)).toEqual({ seq: 3, hash: trail[2]?.hash, torn: true });
  });

  it('reads a file of one entry without a newline, and one with no entry at all', async () => {
    const dir = await tempDir();
    const [only] = sealAll(entries(1));
    expect(await tailOf(await writeTrail(dir, 'one.jsonl', JSON.stringify(only)))).toEqual({ seq: 1, hash: only?.hash, torn: true });
    expect(await tailOf(await writeTrail(dir, 'junk.jsonl', 'x\n{"format":"rollg'))).toEqual({ seq: 0, hash: null, torn: true });
  });

  it('does not read through a symbolic link', async () => {
    const dir = await tempDir();
    const target = await writeTrail(dir, 'target.jsonl', lines(sealAll(entries(2))));
    await symlink(target, join(dir, 'link.jsonl'));
    await expect(tailOf(join(dir, 'link.jsonl'))).rejects.toMatchObject({ code: 'ELOOP' });
  });
});
