import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { UsageError } from '../errors.js';
import { AUDIT_FORMAT, type AuditEntry } from './entry.js';

/**
 * Reading audit trails without holding them: a year of JSON Lines files is read one line at a
 * time, so memory stays flat whatever their size.
 */
export interface TrailLine {
  text: string;
  /** 1-based, as editors count. */
  number: number;
  /** The file's last line, with no newline after it: a writer that stopped mid-write leaves one. */
  unterminated: boolean;
}

/**
 * Yields every line of `file`. Lines come one behind the reader, so the last one is known to be
 * last: only then can an incomplete line be told apart from a damaged one in the middle.
 */
export async function* readLines(file: string): AsyncGenerator<TrailLine> {
  const endsWithNewline = await lastByteIsNewline(file);
  const input = createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let held: string | undefined;
  let number = 0;
  try {
    for await (const text of lines) {
      if (held !== undefined) yield { text: held, number, unterminated: false };
      held = text;
      number += 1;
    }
    if (held !== undefined) yield { text: held, number, unterminated: !endsWithNewline };
  } finally {
    // A reader that stops early (verify stops at the first break) must not leave the file open.
    // readline closes its input itself today; this does not depend on it.
    lines.close();
    input.destroy();
  }
}

async function lastByteIsNewline(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1);
    return buffer[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

/**
 * The files behind the paths a user gave: a file as given, a folder as every `*.jsonl` below it,
 * recursively, sorted by path so that a run's files (and runs named by their start time) come in
 * order. A path that does not exist is a usage error, never an empty result. An http sink's spool
 * of undelivered entries (`*.undelivered.jsonl`) is no trail of its own (it is a piece of that
 * sink's chain, kept to be sent again) and is read only when named.
 */
export async function trailFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UsageError(`audit trail ${path}: no such file or folder; pass the .jsonl files, or the folder that holds them`);
    // sort() without a comparator: code-unit order, not the locale's, so the same on every runner.
    if (info.isDirectory()) files.push(...(await jsonlBelow(path)).sort());
    else files.push(path);
  }
  return files;
}

/** How the http audit sink names the file of entries it could not deliver. */
export const UNDELIVERED_SUFFIX = '.undelivered.jsonl';

async function jsonlBelow(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await jsonlBelow(path)));
    else if (entry.name.endsWith('.jsonl') && !entry.name.endsWith(UNDELIVERED_SUFFIX)) found.push(path);
  }
  return found;
}

/**
 * A line as an entry, or undefined when it is none (torn, damaged, another format, or fields of
 * the wrong type): readers count it as skipped rather than trip over it.
 */
export function parseEntry(text: string): AuditEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return hasEntryShape(value) ? value : undefined;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);

/** Whether `value` has every field an entry's readers rely on, each of its type. */
export function hasEntryShape(value: unknown): value is AuditEntry {
  if (!isObject(value) || value.format !== AUDIT_FORMAT) return false;
  const e = value;
  return (
    Number.isInteger(e.seq) &&
    isString(e.ts) &&
    isString(e.runId) &&
    isString(e.workflow) &&
    isString(e.kind) &&
    isString(e.outcome) &&
    isString(e.message) &&
    isString(e.actor) &&
    isObject(e.ci) &&
    isString(e.ci.platform) &&
    Array.isArray(e.changes) &&
    e.changes.every(isObject) &&
    (e.prevHash === null || isString(e.prevHash)) &&
    isString(e.hash) &&
    optional(e.environment, isString) &&
    optional(e.stage, isString) &&
    optional(e.step, isString) &&
    optional(e.simTime, isString) &&
    optional(e.evidence, isObject) &&
    optional(e.approval, isObject)
  );
}
