import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ProviderError } from '../../errors.js';

/*
 * The hosts of a fleet: listed in the workflow, or read from a file that an earlier CI step (an
 * inventory export, a cloud CLI) wrote. The order is the rollout order.
 */

/** A host is one word: a name or an address (`web-1`, `10.0.0.7`, `api.internal:8080`). */
export const HOST_PATTERN = /^[^\s#]+$/;

/** The duplicate in a list of hosts, with the positions it is at, or `undefined`. */
export function firstDuplicate(hosts: readonly string[]): { host: string; first: number; again: number } | undefined {
  const seen = new Map<string, number>();
  for (const [i, host] of hosts.entries()) {
    const first = seen.get(host);
    if (first !== undefined) return { host, first, again: i };
    seen.set(host, i);
  }
  return undefined;
}

/**
 * Parses a hosts file: one host per line, `#` starts a comment (a whole line or the end of one),
 * blank lines are skipped. Throws a `ProviderError` naming the file and the line.
 */
export function parseHostsFile(text: string, path: string): string[] {
  const hosts: string[] = [];
  const lineOf = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = (raw.split('#', 1)[0] ?? '').trim();
    if (line === '') return;
    const at = i + 1;
    if (!HOST_PATTERN.test(line)) {
      throw new ProviderError(`fleet target: hosts file ${path}, line ${at}: '${line}' is not one host (one host per line; # starts a comment)`);
    }
    const first = lineOf.get(line);
    if (first !== undefined) {
      throw new ProviderError(`fleet target: hosts file ${path} lists host ${line} twice (lines ${first} and ${at}); each host must appear once`);
    }
    lineOf.set(line, at);
    hosts.push(line);
  });
  if (hosts.length === 0) {
    throw new ProviderError(`fleet target: hosts file ${path} lists no hosts (only blank lines and comments); a fleet needs at least one host`);
  }
  return hosts;
}

/**
 * The host list of one target instance. A file is read once, at first use (the engine makes one
 * instance per stage run), so every step of a rollout acts on the same fleet; a failed read is not
 * kept, so a retry reads it again.
 */
export function hostSource(config: { hosts?: string[] | undefined; hostsFile?: string | undefined }, workDir: string): () => Promise<string[]> {
  if (config.hosts) {
    const hosts = [...config.hosts];
    return () => Promise.resolve(hosts);
  }
  const path = isAbsolute(config.hostsFile as string) ? (config.hostsFile as string) : resolve(workDir, config.hostsFile as string);
  let loaded: Promise<string[]> | undefined;
  return () => {
    loaded ??= read(path).catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };
}

async function read(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EISDIR' ? 'it is a directory' : `${code ?? 'error'}: ${(err as Error).message}`;
    throw new ProviderError(
      `fleet target: cannot read hosts file ${path} (${why}); write one host per line there before the stage runs, or list them under \`hosts\` (a relative path is relative to the workflow file)`,
      { cause: err },
    );
  }
  return parseHostsFile(text, path);
}
