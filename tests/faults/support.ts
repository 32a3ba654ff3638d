import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Helpers of the fault tests: real processes found by a marker in their command line, and small
 * real filesystems (tmpfs) to run out of space on.
 */

/** Pids of live (non-zombie) processes whose command line contains `marker`. */
export async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'latin1')).replace(/\0/g, ' ');
      if (!cmdline.includes(marker)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A unique argument for `sleep` that names a process in /proc (GNU sleep takes fractions). */
export function sleepMarker(): string {
  return `1000.${Date.now() % 100_000}${Math.floor(Math.random() * 1000)}`;
}

/**
 * A tmpfs of `kib` KiB mounted on a new folder: a real filesystem that fills up. Needs root (the
 * CI runs as root); without it the test fails, never skips. Returns the folder and an unmount.
 */
export async function smallFilesystem(kib: number): Promise<{ dir: string; unmount: () => void }> {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir]);
  return { dir, unmount: () => execFileSync('umount', ['-l', dir]) };
}
