import { readdir, readFile } from 'node:fs/promises';
import { ProviderError } from '../../errors.js';

/*
 * Which configuration nginx serves now, read from its worker processes. A reload is asynchronous:
 * `nginx -s reload` only signals the master, which re-reads the files and, when it can apply them,
 * starts new workers and tells the old ones to finish their requests ("worker process is shutting
 * down"); when it cannot, it logs an error and keeps the old workers. So the workers that accept
 * connections were all started after the upstream file was written exactly when nginx serves it.
 * This needs no traffic, no cooperation from the application and no status page, and it is exact,
 * where counting the versions of sampled responses is not. Linux only (/proc).
 */

/** /proc's start times are in clock ticks: USER_HZ, 100 on every mainstream Linux. */
const TICK_MS = 10;

/** A worker process that accepts connections, and when it started (epoch milliseconds, to a tick). */
export interface Worker {
  pid: number;
  startMs: number;
}

/** The pid of the nginx master from its pid file, checked against the running process. */
export async function masterPid(pidFile: string, procRoot = '/proc'): Promise<number> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (err) {
    throw new ProviderError(
      `nginx router: cannot read the nginx master's pid from ${pidFile} (${(err as NodeJS.ErrnoException).code ?? 'error'}): is nginx running? Set pidFile to the \`pid\` of your nginx.conf`,
      { cause: err, retryable: true, nothingChanged: true },
    );
  }
  const pid = Number(text.trim());
  const title = Number.isInteger(pid) && pid > 0 ? await titleOf(pid, procRoot) : undefined;
  if (title === undefined || !title.startsWith('nginx: master process')) {
    throw new ProviderError(`nginx router: the nginx master process ${text.trim() || '(empty)'} named in ${pidFile} is not running: is nginx running?`, {
      retryable: true,
      nothingChanged: true,
    });
  }
  return pid;
}

/** The workers of `master` that accept connections (not those finishing old requests after a reload). */
export async function activeWorkers(master: number, procRoot = '/proc', options: { everyProcess?: boolean } = {}): Promise<Worker[]> {
  const entries = (options.everyProcess ? undefined : await childrenOf(master, procRoot)) ?? (await everyProcess(procRoot));
  const boot = await bootMs(procRoot);
  const found = await Promise.all(
    entries.map(async (e): Promise<Worker | undefined> => {
      const stat = await readFile(`${procRoot}/${e}/stat`, 'latin1').catch(() => '');
      // Fields after the parenthesised name (which may hold spaces): state, ppid, … starttime (22nd).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== master) return undefined;
      const title = await titleOf(Number(e), procRoot);
      if (title !== 'nginx: worker process') return undefined;
      return { pid: Number(e), startMs: boot + Number(fields[19]) * TICK_MS };
    }),
  );
  return found.filter((w): w is Worker => w !== undefined).sort((a, b) => a.pid - b.pid);
}

/**
 * Whether nginx serves a file written at `writtenMs` through none of the `before` workers. The
 * kernel's children list may miss a process while others exit (as old workers do after a reload):
 * a "yes" from it is confirmed by reading every process once, so a missed old worker that still
 * accepts connections cannot pass for a finished reload.
 */
export async function servesNow(master: number, writtenMs: number, before: ReadonlySet<number> = new Set(), procRoot = '/proc'): Promise<boolean> {
  if (!serving(await activeWorkers(master, procRoot), writtenMs, before)) return false;
  return serving(await activeWorkers(master, procRoot, { everyProcess: true }), writtenMs, before);
}

/**
 * Whether `workers` serve a file written at `writtenMs`: there are some, and each started after it
 * (within the tick /proc counts in) and is none of `before`, the workers seen before a reload.
 */
export function serving(workers: readonly Worker[], writtenMs: number, before: ReadonlySet<number> = new Set()): boolean {
  return workers.length > 0 && workers.every((w) => w.startMs >= writtenMs - TICK_MS && !before.has(w.pid));
}

/**
 * The master's children from /proc/PID/task/PID/children (Linux 3.5+ with CONFIG_PROC_CHILDREN,
 * as Debian's and Ubuntu's kernels have): a few files read per poll instead of every process's.
 * `undefined` where the kernel does not offer it.
 */
async function childrenOf(master: number, procRoot: string): Promise<string[] | undefined> {
  try {
    return (await readFile(`${procRoot}/${master}/task/${master}/children`, 'latin1')).split(' ').filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
}

async function everyProcess(procRoot: string): Promise<string[]> {
  try {
    return (await readdir(procRoot)).filter((e) => /^\d+$/.test(e));
  } catch (err) {
    throw new ProviderError(`nginx router: cannot list processes in ${procRoot} to see which configuration nginx serves (Linux only); set verify: none`, {
      cause: err,
      nothingChanged: true,
    });
  }
}

/** Wall time at boot, from the time since boot in /proc/uptime (to a hundredth of a second). */
async function bootMs(procRoot: string): Promise<number> {
  const uptime = Number((await readFile(`${procRoot}/uptime`, 'latin1')).split(' ')[0]);
  return Date.now() - uptime * 1000;
}

/** A process's title (nginx rewrites its argv: "nginx: worker process"), or `undefined` when it is gone. */
async function titleOf(pid: number, procRoot: string): Promise<string | undefined> {
  try {
    const cmdline = await readFile(`${procRoot}/${pid}/cmdline`, 'latin1');
    return cmdline.replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}
