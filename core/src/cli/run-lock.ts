import { constants, readFileSync } from 'node:fs';
import { link, lstat, mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { describeWriteError } from '../engine/file-run-store.js';
import { UsageError } from '../errors.js';

/** A lock on another machine whose heartbeat is older than this belongs to a process that is gone. */
export const STALE_MS = 30_000;
const HEARTBEAT_MS = 5_000;
const ATTEMPTS = 3;

interface Holder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is not taken for it. */
  processStart?: string;
}

export interface RunLock {
  release(): Promise<void>;
}

/**
 * One process at a time per run journal: `<state>.lock`, created exclusively (never through a
 * symlink) and kept alive by a heartbeat, its modification time, which the holder refreshes
 * through its open file. A lock held by a process alive on this machine is never taken, however
 * old its heartbeat (a stopped or blocked process still holds it); on another machine sharing the
 * folder, a heartbeat older than 30 s means the holder is gone. A lock is taken over by renaming
 * it away (one contender wins), checking that the lock moved is the one judged stale, and then
 * creating a new one exclusively: two takeovers at once cannot both win.
 */
export async function acquireRunLock(statePath: string, command: string, now: () => number = Date.now): Promise<RunLock> {
  const path = `${statePath}.lock`;
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (err) {
    throw new UsageError(`cannot create the folder of ${statePath}: ${describeWriteError(err)}`);
  }
  const me: Holder = { pid: process.pid, host: hostname(), command, startedAt: new Date(now()).toISOString(), ...startTicks(process.pid) };
  for (let attempt = 1; ; attempt++) {
    const handle = await create(path, me, statePath);
    if (handle) return held(path, handle, now);
    const stale = await judge(path, statePath, now);
    if (attempt >= ATTEMPTS) throw new UsageError(`${statePath}: another process keeps taking its lock (${path}); try again`);
    await takeOver(path, stale);
  }
}

/** Creates the lock exclusively; `undefined` when it exists already. */
async function create(path: string, me: Holder, statePath: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return undefined;
    throw new UsageError(`cannot create the lock ${path} of ${statePath}: ${describeWriteError(err)}`);
  }
  await handle.writeFile(JSON.stringify(me));
  await handle.sync();
  return handle;
}

/** The existing lock's identity, when its holder is gone; throws when it is alive. */
async function judge(path: string, statePath: string, now: () => number): Promise<number> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return -1; // gone meanwhile: the next attempt creates it
  }
  if (info.isSymbolicLink()) {
    throw new UsageError(`${path} is a symlink, not a lock rollgate wrote; it was left as it is. Remove it if no rollgate runs on ${statePath}.`);
  }
  const holder = await readHolder(path);
  const age = now() - info.mtimeMs;
  const alive = holder ? isAlive(holder, age) : age < STALE_MS;
  if (alive) {
    const who = holder ? `'${holder.command}' (pid ${holder.pid} on ${holder.host}, heartbeat ${Math.max(0, Math.round(age / 1000))}s ago)` : 'a process that is starting';
    const local = holder?.host === hostname();
    throw new UsageError(
      `${statePath} is in use by ${who}; wait for it to finish.` +
        (local
          ? ' That process is alive on this machine, so its lock is never taken over.'
          : ` If that process is gone, its lock expires ${Math.round(STALE_MS / 1000)}s after its last heartbeat.`),
    );
  }
  return info.ino;
}

/** Moves a stale lock away; puts it back if what moved was not the lock judged stale. */
async function takeOver(path: string, ino: number): Promise<void> {
  if (ino < 0) return;
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(path, aside);
  } catch {
    return; // another contender moved it first; the next attempt sees what is there now
  }
  const moved = await lstat(aside).catch(() => undefined);
  if (moved && moved.ino !== ino) {
    // A live lock was created between the judgement and the rename: give it back.
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

function held(path: string, handle: FileHandle, now: () => number): RunLock {
  const timer = setInterval(() => {
    const t = new Date(now());
    // Through the open file: no path lookup, so nothing at the path can be touched instead.
    void handle.utimes(t, t).catch(() => {});
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      const [mine, there] = await Promise.all([handle.stat().catch(() => undefined), lstat(path).catch(() => undefined)]);
      await handle.close().catch(() => {});
      if (mine && there && mine.ino === there.ino && mine.dev === there.dev) await unlink(path).catch(() => {});
    },
  };
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const data = JSON.parse(await handle.readFile('utf8')) as Partial<Holder>;
      return typeof data.pid === 'number' && typeof data.host === 'string' ? (data as Holder) : undefined;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * On this machine the holder's process is checked directly (and by its start time, so a reused
 * pid is not mistaken for it); elsewhere only the heartbeat tells.
 */
function isAlive(holder: Holder, heartbeatAge: number): boolean {
  if (holder.host !== hostname()) return heartbeatAge < STALE_MS;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const { processStart: start, zombie } = startTicks(holder.pid);
  // A zombie has exited (its parent has not reaped it yet): it holds nothing.
  if (zombie) return false;
  return holder.processStart === undefined || start === undefined || start === holder.processStart;
}

/** A process's start time, and whether it is a zombie, from /proc (Linux); nothing elsewhere. */
function startTicks(pid: number): { processStart?: string; zombie?: boolean } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return { ...(ticks ? { processStart: ticks } : {}), ...(fields[0] === 'Z' ? { zombie: true } : {}) };
  } catch {
    return {};
  }
}
