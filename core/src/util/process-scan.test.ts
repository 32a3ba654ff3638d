import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveGroups, signalLiveGroups, trackGroup } from './child-groups.js';
import { findByToken, groupAlive, PROCESS_TOKEN_VAR, stopGroups } from './process-scan.js';

/* Real processes, found by the token in their environment, and stopped by process group. */

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** A detached shell (leading its own group) with `env`, running `script`; resolves once it runs. */
async function group(script: string, env: Record<string, string> = {}): Promise<number> {
  const child = spawn('sh', ['-c', `echo up; ${script}`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.unref();
  started.push(child.pid as number);
  return child.pid as number;
}

describe('findByToken', () => {
  it('finds the processes whose environment carries a token, with their group and stage, and nothing else', async () => {
    const token = `t${Date.now()}`;
    const pgid = await group('sleep 30 & wait', { [PROCESS_TOKEN_VAR]: token, ROLLGATE_STAGE: 'web' });
    await group('sleep 30', { [PROCESS_TOKEN_VAR]: 'another' });
    const found = await findByToken([token]);
    // The shell and its sleep: both carry the token, both in the shell's group.
    expect(found.length).toBe(2);
    expect(found.every((p) => p.pgid === pgid && p.stage === 'web')).toBe(true);
    expect(await findByToken([])).toEqual([]);
  });

  it('finds nothing where /proc cannot be read, and skips entries it cannot read', async () => {
    expect(await findByToken(['x'], '/no/such/proc')).toEqual([]);
    const fake = await mkdtemp(join(tmpdir(), 'rollgate-proc-'));
    await mkdir(join(fake, '123'));
    await writeFile(join(fake, '123', 'environ'), `${PROCESS_TOKEN_VAR}=x\0`);
    await mkdir(join(fake, '124'));
    await writeFile(join(fake, '124', 'environ'), `${PROCESS_TOKEN_VAR}=x\0`);
    await writeFile(join(fake, '124', 'stat'), '124 (sh) Z 1 124 124');
    await mkdir(join(fake, '125'));
    await writeFile(join(fake, '125', 'environ'), `${PROCESS_TOKEN_VAR}=x\0`);
    await writeFile(join(fake, '125', 'stat'), '125 (a b) S 1 130 130');
    await mkdir(join(fake, 'self'));
    // 123 has no stat (gone meanwhile), 124 is a zombie: only 125 counts.
    expect(await findByToken(['x'], fake)).toEqual([{ pid: 125, pgid: 130 }]);
  });
});

describe('stopGroups', () => {
  it('stops a group with SIGTERM, and one that ignores it with SIGKILL after the grace', async () => {
    const polite = await group('sleep 30');
    const stubborn = await group('trap "" TERM; sleep 30 & wait');
    expect(groupAlive(polite) && groupAlive(stubborn)).toBe(true);
    const result = await stopGroups([polite, stubborn, polite], 300, 2000, 20);
    expect(result).toEqual({ stopped: [polite, stubborn], survivors: [] });
    expect(groupAlive(polite) || groupAlive(stubborn)).toBe(false);
  });

  it('leaves alone groups that are already gone', async () => {
    expect(groupAlive(2 ** 22 + 7)).toBe(false);
    expect(await stopGroups([2 ** 22 + 7], 10)).toEqual({ stopped: [], survivors: [] });
  });
});

describe('the process-wide set of commands in flight', () => {
  it('holds a group while it runs, and a last-resort SIGKILL reaches every one', async () => {
    // A group that has gone meanwhile is skipped.
    const gone = trackGroup(2 ** 22 + 9);
    expect(signalLiveGroups('SIGKILL')).toBe(0);
    gone();
    const pgid = await group('trap "" TERM; sleep 30');
    const untrack = trackGroup(pgid);
    expect(liveGroups()).toContain(pgid);
    expect(signalLiveGroups('SIGKILL')).toBeGreaterThanOrEqual(1);
    await stopGroups([pgid], 2000, 2000, 20);
    expect(groupAlive(pgid)).toBe(false);
    // Forgotten once it has exited, so a later last resort does not reach it.
    untrack();
    expect(liveGroups()).not.toContain(pgid);
  });
});
