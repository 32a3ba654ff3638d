import { hostname } from 'node:os';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';

/** A lock whose heartbeat is older than this belongs to a process that is gone. */
export const STALE_MS = 30_000;
const HEARTBEAT_MS = 5_000;

interface Holder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  heartbeatAt: number;
}

export interface RunLock {
  release(): Promise<void>;
}

/**
 * One process at a time per run journal: `<state>.lock`, created exclusively and kept alive by a
 * heartbeat. A second `run` or `resume` on the same journal is refused while the first is alive
 * (on any machine sharing the folder); a lock whose process is gone (checked directly on this
 * machine, by its stopped heartbeat elsewhere) is taken over, so a crashed job never blocks the
 * `resume` that recovers it.
 */
export async function acquireRunLock(statePath: string, command: string, now: () => number = Date.now): Promise<RunLock> {
  const path = `${statePath}.lock`;
  const me: Holder = { pid: process.pid, host: hostname(), command, startedAt: new Date(now()).toISOString(), heartbeatAt: now() };
  await mkdir(dirname(path), { recursive: true });
  try {
    const handle = await open(path, 'wx', 0o600);
    await handle.writeFile(JSON.stringify(me));
    await handle.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = await readHolder(path);
    const age = holder ? now() - holder.heartbeatAt : Infinity;
    if (holder && age < STALE_MS && alive(holder)) {
      throw new UsageError(
        `${statePath} is in use by '${holder.command}' (pid ${holder.pid} on ${holder.host}, heartbeat ${Math.round(age / 1000)}s ago); ` +
          `wait for it to finish. If that process is gone, its lock expires ${Math.round(STALE_MS / 1000)}s after its last heartbeat.`,
      );
    }
    await writeFile(path, JSON.stringify(me), { mode: 0o600 });
  }
  const timer = setInterval(() => {
    me.heartbeatAt = now();
    void writeFile(path, JSON.stringify(me), { mode: 0o600 }).catch(() => {});
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      const holder = await readHolder(path);
      if (holder?.pid === me.pid && holder.host === me.host) await rm(path, { force: true });
    },
  };
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as Partial<Holder>;
    return typeof data.heartbeatAt === 'number' && typeof data.pid === 'number' ? (data as Holder) : undefined;
  } catch {
    return undefined;
  }
}

/** On this machine a lock's process can be checked directly; elsewhere only the heartbeat tells. */
function alive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
