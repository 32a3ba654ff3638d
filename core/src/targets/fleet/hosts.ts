import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ProviderError } from '../../errors.js';
import type { ProbeResult } from '../../model/results.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';

/*
 * The hosts of a fleet: listed in the workflow, read from a file that an earlier CI step (an
 * inventory export, a cloud CLI) wrote, or from a probe (an inventory API, a service catalogue, a
 * command). The order is the rollout order.
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

/** Where a fleet's hosts come from: exactly one of the three (the schema says so). */
export interface HostsConfig {
  hosts?: string[] | undefined;
  hostsFile?: string | undefined;
  hostsFrom?: string | undefined;
}

/**
 * The host list of one target instance. A file is read once, at first use (the engine makes one
 * instance per stage run), so every step of a rollout acts on the same fleet; a failed read is not
 * kept, so a retry reads it again. A probe is read once per stage run too, and what it gave is kept
 * in the run journal before the first change: a resumed run acts on the same fleet, whatever the
 * inventory says by then.
 */
export function hostSource(config: HostsConfig, deps: Pick<ProviderDeps, 'workDir' | 'probe' | 'state'>): (ctx: StepContext) => Promise<string[]> {
  if (config.hosts) {
    const hosts = [...config.hosts];
    return () => Promise.resolve(hosts);
  }
  let loaded: Promise<string[]> | undefined;
  const once = (read: () => Promise<string[]>) => {
    loaded ??= read().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };
  if (config.hostsFrom) {
    const name = config.hostsFrom;
    return (ctx) => {
      const kept = (deps.state.get() as { hosts?: string[] } | null | undefined)?.hosts;
      return kept ? Promise.resolve(kept) : once(() => fromProbe(name, deps, ctx));
    };
  }
  const path = isAbsolute(config.hostsFile as string) ? (config.hostsFile as string) : resolve(deps.workDir, config.hostsFile as string);
  return () => once(() => read(path));
}

async function fromProbe(name: string, deps: Pick<ProviderDeps, 'probe' | 'state'>, ctx: StepContext): Promise<string[]> {
  const result = await deps.probe(name, ctx);
  if (!result.ok) {
    throw new ProviderError(`fleet target: probe '${name}' (hostsFrom) failed: ${result.error ?? 'not ok'}; the hosts come from it, so nothing was changed`, {
      retryable: true,
      nothingChanged: true,
    });
  }
  if (result.details?.['outputTruncated'] === true) {
    throw new ProviderError(`fleet target: probe '${name}' (hostsFrom) printed more than a probe keeps (64 KiB), so its first hosts were cut off; print fewer (a file for hostsFile holds any number)`, {
      nothingChanged: true,
    });
  }
  const hosts = parseHostList(result.value, `probe '${name}' (hostsFrom)`);
  // Kept before any host changes: a later process of this run acts on this list.
  await deps.state.put({ ...(deps.state.get() as object | null | undefined), hosts });
  return hosts;
}

/**
 * A probe's value as a host list: a JSON array of strings (an http probe's `jsonPath` to a list),
 * or words separated by newlines, spaces or commas (a command probe's output). Throws a
 * `ProviderError` naming the source and the offending entry.
 */
export function parseHostList(value: ProbeResult['value'], source: string): string[] {
  if (typeof value !== 'string' || value.trim() === '') {
    const got = value === null || value === '' ? 'nothing' : `${typeof value} ${String(value)}`;
    throw new ProviderError(`fleet target: ${source} gave ${got}, not a list of hosts (expected a JSON array of strings, or hosts separated by newlines, spaces or commas)`, {
      nothingChanged: true,
    });
  }
  let hosts: unknown[];
  if (value.trimStart().startsWith('[')) {
    try {
      hosts = JSON.parse(value) as unknown[];
    } catch (err) {
      throw new ProviderError(`fleet target: ${source} gave text that starts like a JSON array but is not one (${(err as Error).message})`, { nothingChanged: true });
    }
    if (!Array.isArray(hosts)) throw new ProviderError(`fleet target: ${source} gave JSON that is not an array of hosts`, { nothingChanged: true });
  } else {
    hosts = value.split(/[\s,]+/).filter((h) => h !== '');
  }
  const seen = new Map<string, number>();
  hosts.forEach((host, i) => {
    if (typeof host !== 'string' || !HOST_PATTERN.test(host)) {
      throw new ProviderError(`fleet target: ${source}: entry ${i + 1} (${JSON.stringify(host)}) is not one host name or address`, { nothingChanged: true });
    }
    const first = seen.get(host);
    if (first !== undefined) throw new ProviderError(`fleet target: ${source} lists host ${host} twice (entries ${first + 1} and ${i + 1}); each host must appear once`, { nothingChanged: true });
    seen.set(host, i);
  });
  if (hosts.length === 0) throw new ProviderError(`fleet target: ${source} gave an empty list; a fleet needs at least one host`, { nothingChanged: true });
  return hosts as string[];
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
