import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeWorkers, servesNow } from './workers.js';

/*
 * Finding nginx's accepting workers in a /proc tree: from the master's children list where the
 * kernel has one, else by reading every process. Both ways give the same workers.
 */

let proc: string;
beforeEach(async () => {
  proc = await mkdtemp(join(tmpdir(), 'rollgate-proc-'));
  await writeFile(join(proc, 'uptime'), '1000.00 900.00\n');
  const processes: Array<[number, number, string, number]> = [
    [100, 1, 'nginx: master process /usr/sbin/nginx', 10],
    [101, 100, 'nginx: worker process', 5000],
    [102, 100, 'nginx: worker process is shutting down', 4000],
    [103, 100, 'nginx: cache manager process', 5000],
    [200, 1, 'nginx: worker process', 6000],
  ];
  for (const [pid, ppid, title, start] of processes) {
    await mkdir(join(proc, String(pid)));
    // pid (comm) state ppid, then 17 fields, then starttime (the 22nd field).
    await writeFile(join(proc, String(pid), 'stat'), `${pid} (nginx) S ${ppid} ${Array(17).fill('0').join(' ')} ${start} 0 0\n`);
    await writeFile(join(proc, String(pid), 'cmdline'), `${title.replace(/ /g, '\0')}\0`);
  }
});
afterEach(async () => {
  await rm(proc, { recursive: true, force: true });
});

describe('activeWorkers', () => {
  it('reads the master children list where the kernel offers it', async () => {
    await mkdir(join(proc, '100', 'task', '100'), { recursive: true });
    // Listed children only: a process of another master is never read.
    await writeFile(join(proc, '100', 'task', '100', 'children'), '101 102 103 ');
    const workers = await activeWorkers(100, proc);
    expect(workers.map((w) => w.pid)).toEqual([101]);
  });

  it('reads every process where the kernel has no children list, and finds the same worker', async () => {
    const workers = await activeWorkers(100, proc);
    expect(workers.map((w) => w.pid)).toEqual([101]);
    // Started 50 s after boot (5000 ticks of 10 ms).
    const boot = Date.now() - 1_000_000;
    expect(Math.abs((workers[0]?.startMs ?? 0) - (boot + 50_000))).toBeLessThan(1000);
  });
});

describe('servesNow', () => {
  it('does not trust a children list that missed an old worker still accepting connections', async () => {
    await mkdir(join(proc, '100', 'task', '100'), { recursive: true });
    // The list misses 102, an old worker that has not yet started shutting down.
    await writeFile(join(proc, '100', 'task', '100', 'children'), '101 ');
    await writeFile(join(proc, '102', 'cmdline'), 'nginx:\0worker\0process\0');
    const boot = Date.now() - 1_000_000;
    // 101 started at 50 s after boot, 102 at 40 s: a file written at 45 s is served by 101 only.
    const written = boot + 45_000;
    expect(await servesNow(100, written, new Set(), proc)).toBe(false);
    await writeFile(join(proc, '102', 'cmdline'), 'nginx:\0worker\0process\0is\0shutting\0down\0');
    expect(await servesNow(100, written, new Set(), proc)).toBe(true);
  });
});
