import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireRunLock, STALE_MS } from './run-lock.js';

async function state(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'rollgate-lock-')), 'nested', 'run.json');
}

describe('acquireRunLock', () => {
  it('takes the lock, refuses a second holder while alive, and frees it on release', async () => {
    const path = await state();
    const lock = await acquireRunLock(path, 'rollgate run');
    const holder = JSON.parse(await readFile(`${path}.lock`, 'utf8')) as { pid: number; command: string };
    expect(holder).toMatchObject({ pid: process.pid, command: 'rollgate run' });
    await expect(acquireRunLock(path, 'rollgate resume')).rejects.toThrow(
      new RegExp(`run\\.json is in use by 'rollgate run' \\(pid ${process.pid} on ${hostname()}, heartbeat \\d+s ago\\); wait for it to finish`),
    );
    await lock.release();
    const again = await acquireRunLock(path, 'rollgate resume');
    await again.release();
  });

  it('takes over a lock whose process is gone on this machine', async () => {
    const path = await state();
    const lock = await acquireRunLock(path, 'rollgate run');
    await writeFile(`${path}.lock`, JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), command: 'rollgate run', startedAt: '', heartbeatAt: Date.now() }));
    const taken = await acquireRunLock(path, 'rollgate resume');
    expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, command: 'rollgate resume' });
    await taken.release();
    await lock.release();
  });

  it('honours a live lock from another machine until its heartbeat is stale, and ignores a damaged one', async () => {
    const path = await state();
    (await acquireRunLock(path, 'x')).release();
    const other = (heartbeatAt: number) => JSON.stringify({ pid: 1, host: 'runner-7', command: 'rollgate run', startedAt: '', heartbeatAt });
    await writeFile(`${path}.lock`, other(Date.now()));
    await expect(acquireRunLock(path, 'rollgate resume')).rejects.toThrow(/in use by 'rollgate run' \(pid 1 on runner-7/);
    await writeFile(`${path}.lock`, other(Date.now() - STALE_MS - 1));
    await (await acquireRunLock(path, 'rollgate resume')).release();
    await writeFile(`${path}.lock`, 'not json');
    await (await acquireRunLock(path, 'rollgate resume')).release();
  });

  it('keeps its heartbeat fresh while held', async () => {
    const path = await state();
    let now = 1_000;
    const lock = await acquireRunLock(path, 'rollgate run', () => now);
    now = 2_000;
    await new Promise((r) => setTimeout(r, 5_200));
    expect((JSON.parse(await readFile(`${path}.lock`, 'utf8')) as { heartbeatAt: number }).heartbeatAt).toBe(2_000);
    await lock.release();
  });
});
