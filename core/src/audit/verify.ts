import { hashOf, hmacOf } from './chain.js';
import { AUDIT_FORMAT, type AuditEntry } from './entry.js';
import { readLines, type TrailLine } from './read-lines.js';

/**
 * Checks a trail, streaming: every line is an entry, its hash covers its content, its seq follows
 * the one before and its prevHash is that entry's hash, and with a key its HMAC is right. Stops at
 * the first break and says where and what happened there, in words a reviewer can act on. A line
 * a crash cut short is a warning, not a break, when the entry after it continues the chain from
 * the last whole entry before it: nothing is missing from the chain.
 */
export interface TrailPosition {
  file: string;
  /** 1-based line in `file`. */
  line: number;
}

export interface BrokenEntry extends TrailPosition {
  /** The seq the line claims, when it is an entry. */
  seq?: number;
  reason: string;
}

export interface TornLine extends TrailPosition {
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Entries checked: all of them when intact; up to and including the broken one otherwise. */
  entries: number;
  /** Files read (all when intact; up to the broken one otherwise). */
  files: number;
  /** Entries that carry an HMAC. They are checked only when a key is given. */
  signed: number;
  hmacChecked: boolean;
  firstBroken?: BrokenEntry;
  /** The first file whose last line is incomplete: a warning, not tampering. */
  tornLastLine?: TornLine;
  /**
   * Every torn line, in order: incomplete last lines, and lines cut short inside a file that the
   * next entry continues the chain after (a crash, then a resumed run). Warnings, not tampering.
   */
  torn: TornLine[];
  /** The last entry checked: where the chain ends (compare it with a head recorded at the run's end to catch a truncation). */
  head?: { seq: number; hash: string };
}

export const TORN_MESSAGE = 'the last line is incomplete: the writer stopped mid-write';
/** A torn line inside a file, after which a writer (a resumed run) continued the chain. */
export const CUT_SHORT_MESSAGE = 'cut short by a crash; the chain continues intact after it';

/** The last good entry: what the next one must link to. */
interface Head {
  seq: number;
  hash: string;
  line: number;
}

/**
 * `files` are read in the order given, and the chain continues across them: a run resumed into a
 * second file links that file's first entry to the last entry of the one before. A file may also
 * start a chain of its own (prevHash null, seq 1): a run, or a resume on a fresh runner.
 */
export async function verifyTrail(files: string[], opts: { key?: string } = {}): Promise<VerifyResult> {
  const result: VerifyResult = { ok: true, entries: 0, files: 0, signed: 0, hmacChecked: opts.key !== undefined, torn: [] };
  let head: Head | undefined;
  for (const file of files) {
    result.files += 1;
    let firstOfFile = true;
    /** Lines that are not JSON, waiting for the next entry to tell what they are. */
    let cut: TrailPosition[] = [];
    const lines = readLines(file);
    for await (const line of lines) {
      const value = parseJson(line.text);
      if (value === undefined) {
        // Only the file's last line can be unterminated: a crash mid-append, which the next writer skips.
        if (!line.unterminated || cut.length > 0) {
          cut.push({ file, line: line.number });
          continue;
        }
        const torn = { file, line: line.number, message: TORN_MESSAGE };
        result.torn.push(torn);
        result.tornLastLine ??= torn;
        continue;
      }
      const entry = asEntry(value);
      const link = typeof entry === 'string' ? entry : checkLink(entry, head, firstOfFile);
      // A writer cut short (a crash, a full disk) leaves a fragment; the next one starts a line of
      // its own and links to the last whole entry. Only then is the fragment no damage.
      const first = cut[0];
      if (first) {
        if (link !== undefined) return broken(result, { ...first, reason: `line ${first.line} is not JSON` });
        result.torn.push(...cut.map((c) => ({ ...c, message: CUT_SHORT_MESSAGE })));
        cut = [];
      }
      if (typeof entry === 'string') return broken(result, { file, line: line.number, reason: `line ${line.number} ${entry}` });
      result.entries += 1;
      const where = { file, line: line.number, seq: entry.seq };
      const sealProblem = checkSeal(entry, opts.key, result);
      if (sealProblem) return broken(result, { ...where, reason: sealProblem });
      if (typeof link === 'string') return broken(result, { ...where, reason: link });
      if (link) return broken(result, { ...where, reason: await explainGap(lines, link, entry.seq) });
      head = { seq: entry.seq, hash: entry.hash, line: line.number };
      result.head = { seq: entry.seq, hash: entry.hash };
      firstOfFile = false;
    }
    // A fragment with nothing after it that continues the chain is not known to be a crash's.
    const last = cut[0];
    if (last) return broken(result, { ...last, reason: `line ${last.line} is not JSON` });
  }
  return result;
}

function broken(result: VerifyResult, at: BrokenEntry): VerifyResult {
  return { ...result, ok: false, firstBroken: at };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The entry, or what is wrong with the line (to follow "line N"). */
function asEntry(value: unknown): AuditEntry | string {
  const e = value as Partial<AuditEntry> | null;
  if (typeof e !== 'object' || e === null || e.format !== AUDIT_FORMAT) return `is not a rollgate audit entry (no format '${AUDIT_FORMAT}')`;
  const valid = Number.isInteger(e.seq) && typeof e.hash === 'string' && (e.prevHash === null || typeof e.prevHash === 'string');
  return valid ? (e as AuditEntry) : 'is not a rollgate audit entry (seq, hash or prevHash is missing or of the wrong type)';
}

/** The entry's own seal: its hash over its content, and with a key, the HMAC of that hash. */
function checkSeal(entry: AuditEntry, key: string | undefined, result: VerifyResult): string | undefined {
  const { hash, hmac, ...body } = entry;
  if (hashOf(body) !== hash) return `entry ${entry.seq} was changed (its hash does not match its content)`;
  if (hmac !== undefined) result.signed += 1;
  if (key === undefined) return undefined;
  if (hmac === undefined) return `entry ${entry.seq} has no HMAC, but a key was given (written without the key, or its HMAC was removed)`;
  if (hmac !== hmacOf(hash, key)) return `HMAC of entry ${entry.seq} does not match (wrong key, or written by someone without it)`;
  return undefined;
}

/** Seqs an entry jumped over: missing, or moved further down. */
interface Gap {
  after: number;
  from: number;
  to: number;
}

/** How the entry links to the one before: fine (undefined), a gap to explain, or a break. */
function checkLink(entry: AuditEntry, head: Head | undefined, firstOfFile: boolean): string | Gap | undefined {
  const { seq } = entry;
  if (firstOfFile && entry.prevHash === null) {
    return seq === 1 ? undefined : `entry ${seq} starts a chain (its prevHash is null), but chains start at entry 1: the entries before it are missing`;
  }
  if (!head) return `the trail starts at entry ${seq}, which links to an entry before it that is not in the files given (if that entry is in another file, pass that file first)`;
  if (seq === head.seq + 1) return entry.prevHash === head.hash ? undefined : `the chain breaks: prevHash of entry ${seq} is not the hash of entry ${head.seq}`;
  if (seq > head.seq + 1) return { after: head.seq, from: head.seq + 1, to: seq - 1 };
  if (seq === head.seq && entry.hash === head.hash) return `entry ${seq} is repeated (line ${head.line} holds it too)`;
  return `entries are out of order: entry ${seq} comes after entry ${head.seq}`;
}

/**
 * A jump in seq is either a deletion or a reordering. The rest of the file tells which: if a
 * skipped entry turns up further down, it was moved. Only seqs are kept while looking, so even
 * a huge file costs no memory.
 */
async function explainGap(rest: AsyncGenerator<TrailLine>, gap: Gap, seq: number): Promise<string> {
  for await (const line of rest) {
    const later = parseJson(line.text) as Partial<AuditEntry> | undefined;
    const laterSeq = later?.seq;
    if (typeof laterSeq === 'number' && laterSeq >= gap.from && laterSeq <= gap.to) {
      return `entries are out of order: entry ${laterSeq} is at line ${line.number}, after entry ${seq}`;
    }
  }
  const what = gap.from === gap.to ? `entry ${gap.from} is missing` : `entries ${gap.from}–${gap.to} are missing`;
  return `${what} (seq jumps from ${gap.after} to ${seq})`;
}
