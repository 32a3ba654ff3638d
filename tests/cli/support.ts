import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Drives the built CLI as a user does: a real process, real files, exit codes and output. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');
export const EXAMPLES = join(ROOT, 'examples');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function workspace(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rollgate-cli-'));
}

export async function writeWorkflow(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

export function start(args: string[], opts: { cwd: string; env?: Record<string, string> }): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<CliResult>((resolveResult) => child.on('close', (code) => resolveResult({ code, stdout, stderr })));
  return Object.assign(child, { result });
}

export function cli(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return start(args, opts).result;
}

/** Resolves once `predicate` holds for the process's output so far. */
export function waitForOutput(child: ChildProcess, predicate: (text: string) => boolean, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolveWait, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for output; saw:\n${seen}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (predicate(seen)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolveWait();
      }
    };
    child.stdout?.on('data', onData);
  });
}
