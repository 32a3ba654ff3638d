/**
 * The process groups of commands this process has started and not yet seen exit. Every command
 * leads a group of its own (it is spawned detached), so killing the group stops everything it
 * started. The set is process-wide on purpose: the CLI's last-resort exit (a second Ctrl-C) must
 * stop every command in flight, whichever run started it, before the process goes.
 */
const live = new Set<number>();

/** Adds a group when its leader has started; returns the function that removes it on exit. */
export function trackGroup(pgid: number): () => void {
  live.add(pgid);
  return () => {
    live.delete(pgid);
  };
}

/** The groups in flight now. */
export function liveGroups(): number[] {
  return [...live];
}

/**
 * Sends `signal` to every group in flight, synchronously (safe to call just before
 * `process.exit`). Groups that are already gone are skipped. Returns how many were signalled.
 */
export function signalLiveGroups(signal: NodeJS.Signals): number {
  let sent = 0;
  for (const pgid of live) {
    try {
      process.kill(-pgid, signal);
      sent += 1;
    } catch {
      // The group has already exited.
    }
  }
  return sent;
}
