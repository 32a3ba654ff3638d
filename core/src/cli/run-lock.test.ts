import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FileRunStore } from '../engine/file-run-store.js';
import { acquireRunLock, STALE_MS } from './run-lock.js';

async function state(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'rollgate-lock-')), 'nested', 'run.json');
}

/** Makes a lock look as if its holder last beat `ms` ago. */
async function age(path: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(`${path}.lock`, then, then);
}

/** A real process that stays alive (stopped or not) until killed. */
function holderProcess() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return child;
}

describe('acquireRunLock', () => {
  it('takes the lock, refuses a second holder while alive, and frees it on release', async () => {
    const path = await state();
    const lock = await acquireRunLock(path, 'rollgate run');
    const holder = JSON.parse(await readFile(`${path}.lock`, 'utf8')) as { pid: number; command: string };
    expect(holder).toMatchObject({ pid: process.pid, command: 'rollgate run' });
    await expect(acquireRunLock(path, 'rollgate resume')).rejects.toThrow(
      new RegExp(`run\\.json is in use by 'rollgate run' \\(pid ${process.pid} on ${hostname()}, heartbeat \\d+s ago\\); wait for it to finish\\. That process is alive on this machine, so its lock is never taken over\\.`),
    );
    await lock.release();
    const again = await acquireRunLock(path, 'rollgate resume');
    await again.release();
  });

  it('never takes the lock of a process alive on this machine, however old its heartbeat (a stopped holder)', async () => {
    const path = await state();
    const child = holderProcess();
    try {
      process.kill(child.pid as number, 'SIGSTOP');
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(`${path}.lock`, JSON.stringify({ pid: child.pid, host: hostname(), command: 'rollgate run', startedAt: '', heartbeatAt: Date.now() - 10 * STALE_MS }));
      await age(path, 10 * STALE_MS);
      await expect(acquireRunLock(path, 'rollgate resume')).rejects.toThrow(/in use by 'rollgate run' \(pid \d+ .*heartbeat 300s ago\); wait for it to finish\. That process is alive on this machine/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes over a lock whose process is gone on this machine, or whose pid now belongs to another process', async () => {
    const path = await state();
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(`${path}.lock`, JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), command: 'rollgate run', startedAt: '' }));
    const taken = await acquireRunLock(path, 'rollgate resume');
    expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, command: 'rollgate resume' });
    await taken.release();
    // Our own pid, but started at another time: the holder is gone and the pid was reused.
    await writeFile(`${path}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), command: 'rollgate run', startedAt: '', processStart: '1' }));
    await (await acquireRunLock(path, 'rollgate resume')).release();
  });

  it('lets exactly one of two takeovers of a stale lock win', async () => {
    const path = await state();
    await mkdir(join(path, '..'), { recursive: true });
    for (let round = 0; round < 5; round++) {
      await writeFile(`${path}.lock`, JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), command: 'rollgate run', startedAt: '' }));
      const results = await Promise.allSettled([acquireRunLock(path, 'rollgate resume --approve'), acquireRunLock(path, 'rollgate resume --approve')]);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect(lost?.status === 'rejected' && (lost.reason as Error).message).toMatch(/is in use by 'rollgate resume --approve'/);
      await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    }
  });

  it('honours a live lock from another machine until its heartbeat is stale, and ignores a damaged old one', async () => {
    const path = await state();
    await (await acquireRunLock(path, 'x')).release();
    await writeFile(`${path}.lock`, JSON.stringify({ pid: 1, host: 'runner-7', command: 'rollgate run', startedAt: '' }));
    await expect(acquireRunLock(path, 'rollgate resume')).rejects.toThrow(
      /in use by 'rollgate run' \(pid 1 on runner-7, heartbeat 0s ago\); wait for it to finish\. If that process is gone, its lock expires 30s after its last heartbeat\./,
    );
    await age(path, STALE_MS + 1000);
    await (await acquireRunLock(path, 'rollgate resume')).release();
    await writeFile(`${path}.lock`, 'not json');
    await expect(acquireRunLock(path, 'rollgate resume')).rejects.toThrow(/in use by a process that is starting/);
    await age(path, STALE_MS + 1000);
    await (await acquireRunLock(path, 'rollgate resume')).release();
  });

  it('refuses a symlink at the lock path and leaves its target alone', async () => {
    const path = await state();
    await mkdir(join(path, '..'), { recursive: true });
    const victim = join(path, '..', 'victim.txt');
    await writeFile(victim, 'precious');
    await symlink(victim, `${path}.lock`);
    await expect(acquireRunLock(path, 'rollgate run')).rejects.toThrow(/run\.json\.lock is a symlink, not a lock rollgate wrote; it was left as it is\. Remove it if no rollgate runs on .*run\.json\./);
    expect(await readFile(victim, 'utf8')).toBe('precious');
    expect((await lstat(`${path}.lock`)).isSymbolicLink()).toBe(true);
  });

  it('locks the real journal: two paths to one journal share one lock', async () => {
    const path = await state();
    await mkdir(join(path, '..'), { recursive: true });
    const link = join(path, '..', '..', 'link.json');
    await symlink(path, link);
    const viaLink = new FileRunStore(link);
    expect(viaLink.location).toBe(new FileRunStore(path).location);
    const lock = await acquireRunLock(viaLink.location, 'rollgate run');
    await expect(acquireRunLock(new FileRunStore(path).location, 'rollgate resume')).rejects.toThrow(/is in use by 'rollgate run'/);
    await lock.release();
  });

  it('keeps its heartbeat fresh while held, through the open file', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const path = await state();
      let now = Date.parse('2026-01-01T00:00:00Z');
      const lock = await acquireRunLock(path, 'rollgate run', () => now);
      now += 60_000;
      vi.advanceTimersByTime(5_000);
      await vi.waitFor(async () => expect((await lstat(`${path}.lock`)).mtimeMs).toBe(now));
      await lock.release();
    } finally {
      vi.useRealTimers();
    }
  });

  it('says clearly when the state folder cannot be created', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-lock-'));
    await writeFile(join(dir, 'file'), '');
    await expect(acquireRunLock(join(dir, 'file', 'run.json'), 'rollgate run')).rejects.toThrow(
      /cannot create the folder of .*file\/run\.json: EEXIST: a part of the path is not a folder \(or the path is one\); pass --state PATH naming a file/,
    );
  });
});
