import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Finding and stopping processes that outlived the rollgate process that started them. On Linux
 * every process's environment is readable in /proc by its owner, so commands are found by the
 * marker rollgate puts in their environment, even when they left their process group; elsewhere
 * only the recorded process groups can be checked.
 */

/** The variable every command carries: the token of the rollgate process that started it. */
export const PROCESS_TOKEN_VAR = 'ROLLGATE_PROCESS_TOKEN';

export interface FoundProcess {
  pid: number;
  pgid: number;
  /** ROLLGATE_STAGE from its environment, when set. */
  stage?: string;
}

/**
 * Processes of this user whose environment carries one of `tokens`. Empty where /proc cannot be
 * read (not Linux): callers then rely on the recorded process groups.
 */
export async function findByToken(tokens: readonly string[], procRoot = '/proc'): Promise<FoundProcess[]> {
  if (tokens.length === 0) return [];
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return [];
  }
  const wanted = new Set(tokens.map((t) => `${PROCESS_TOKEN_VAR}=${t}`));
  const found: FoundProcess[] = [];
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
      .map(async (e) => {
        let environ: string;
        try {
          environ = await readFile(`${procRoot}/${e}/environ`, 'latin1');
        } catch {
          return; // gone, or another user's
        }
        const vars = environ.split('\0');
        if (!vars.some((v) => wanted.has(v))) return;
        const pgid = await groupOf(Number(e), procRoot);
        if (pgid === undefined) return;
        const stage = vars.find((v) => v.startsWith('ROLLGATE_STAGE='))?.slice('ROLLGATE_STAGE='.length);
        found.push({ pid: Number(e), pgid, ...(stage ? { stage } : {}) });
      }),
  );
  return found.sort((a, b) => a.pid - b.pid);
}

/** The process group of `pid` from /proc/PID/stat (field 5, after the parenthesised name). */
async function groupOf(pid: number, procRoot: string): Promise<number | undefined> {
  try {
    const stat = await readFile(`${procRoot}/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // state ppid pgrp …; a zombie has exited already and needs no stopping.
    if (fields[0] === 'Z') return undefined;
    const pgid = Number(fields[2]);
    return Number.isInteger(pgid) && pgid > 0 ? pgid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether any process of group `pgid` is alive (signal 0 checks without sending anything). A
 * group of zombies only is not: its processes have exited, and their parent (often init in a
 * container, which may be slow to reap) holds nothing but their exit status.
 */
export function groupAlive(pgid: number, procRoot = '/proc'): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !onlyZombies(pgid, procRoot);
}

/** Whether /proc shows the group's members and every one of them is a zombie. */
function onlyZombies(pgid: number, procRoot: string): boolean {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return false;
  }
  let members = 0;
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`${procRoot}/${e}/stat`, 'latin1');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    if (fields[0] !== 'Z') return false;
    members += 1;
  }
  return members > 0;
}

export interface StopResult {
  /** Groups that were running and are gone now. */
  stopped: number[];
  /** Groups still alive after SIGKILL: a person must look. */
  survivors: number[];
}

/**
 * Stops process groups: SIGTERM, then SIGKILL for those still alive after `graceMs`, then waits up
 * to `killWaitMs` for them to go. Wall time throughout: these are real processes.
 */
export async function stopGroups(pgids: readonly number[], graceMs: number, killWaitMs = 2000, pollMs = 50): Promise<StopResult> {
  const running = [...new Set(pgids)].filter((g) => groupAlive(g));
  const send = (signal: NodeJS.Signals, groups: number[]) => {
    for (const g of groups) {
      try {
        process.kill(-g, signal);
      } catch {
        // Already gone.
      }
    }
  };
  const waitGone = async (groups: number[], ms: number) => {
    const until = Date.now() + ms;
    let alive = groups.filter((g) => groupAlive(g));
    while (alive.length > 0 && Date.now() < until) {
      await delay(pollMs);
      alive = alive.filter((g) => groupAlive(g));
    }
    return alive;
  };
  send('SIGTERM', running);
  let alive = await waitGone(running, graceMs);
  if (alive.length > 0) {
    send('SIGKILL', alive);
    alive = await waitGone(alive, killWaitMs);
  }
  return { stopped: running.filter((g) => !alive.includes(g)), survivors: alive };
}
