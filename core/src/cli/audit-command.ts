import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { queryFormatter, QUERY_FORMATS, type QueryFormat } from '../audit/query-format.js';
import { queryTrail, type AuditFilter } from '../audit/query.js';
import { trailFiles } from '../audit/read-lines.js';
import { reportRun } from '../audit/report.js';
import { CUT_SHORT_MESSAGE, verifyTrail, type BrokenEntry } from '../audit/verify.js';
import { UsageError } from '../errors.js';
import type { CliIO } from './io.js';
import { HELP } from './help.js';

/*
 * `rollgate audit verify|query|report`: the read side of the audit trail. It loads only the audit
 * modules (no workflow schema, YAML or CEL), so it starts as fast as `--version`.
 */
const DEFAULT_TRAIL = '.rollgate/audit';
const DEFAULT_KEY_ENV = 'ROLLGATE_AUDIT_KEY';

const common = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

const filters = ['since', 'until', 'env', 'stage', 'actor', 'kind', 'outcome', 'run'] as const;

const OPTIONS = {
  verify: { ...common, 'key-env': { type: 'string' }, head: { type: 'string' } },
  query: { ...common, format: { type: 'string' }, ...Object.fromEntries(filters.map((f) => [f, { type: 'string' } as const])) },
  report: { ...common, run: { type: 'string' }, 'key-env': { type: 'string' } },
} satisfies Record<string, ParseArgsConfig['options']>;
type Subcommand = keyof typeof OPTIONS;

type Values = Record<string, unknown>;
type IO = Pick<CliIO, 'out' | 'env'>;

export async function runAuditCommand(argv: string[], io: IO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.out.stdout(HELP.audit);
    return 0;
  }
  if (sub === undefined || !Object.hasOwn(OPTIONS, sub)) {
    io.out.stderr(`rollgate audit: ${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`}: use verify, query or report\n\n${HELP.audit}`);
    return 2;
  }
  const name = `audit ${sub}`;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    const options: ParseArgsConfig['options'] = OPTIONS[sub as Subcommand];
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    io.out.stderr(`rollgate ${name}: ${(err as Error).message}\nSee 'rollgate audit --help'.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out.stdout(HELP.audit);
    return 0;
  }
  try {
    if (sub === 'verify') return await verify(values, positionals, io);
    if (sub === 'query') return await query(values, positionals, io);
    return await report(values, positionals, io);
  } catch (err) {
    // Loaded only on failure: the run commands' module pulls in the whole engine.
    const { reportError } = await import('./commands.js');
    return reportError(name, err, Boolean(values.debug), io);
  }
}

/** The HMAC key: from --key-env's variable, which must be set, or ROLLGATE_AUDIT_KEY if it is. */
function hmacKey(values: Values, env: NodeJS.ProcessEnv): { name: string; value: string } | undefined {
  const named = values['key-env'] as string | undefined;
  const name = named ?? DEFAULT_KEY_ENV;
  const value = env[name];
  if (value) return { name, value };
  if (named) throw new UsageError(`--key-env ${named}: the environment variable ${named} is not set (or is empty); export the HMAC key the trail was written with`);
  return undefined;
}

/** The paths given, or the default trail folder, which must then exist. */
function trailPaths(positionals: string[]): string[] {
  if (positionals.length > 0) return positionals;
  const dir = resolve(process.cwd(), DEFAULT_TRAIL);
  if (!existsSync(dir)) throw new UsageError(`no audit trail at ${dir} (the default): pass the folder or files that hold it, e.g. a downloaded CI artifact`);
  return [dir];
}

async function verify(values: Values, positionals: string[], io: IO): Promise<number> {
  if (positionals.length === 0) throw new UsageError('missing FILE: rollgate audit verify FILE... (a run\'s .jsonl files in order, or a folder)');
  const key = hmacKey(values, io.env);
  const files = await trailFiles(positionals);
  if (files.length === 0) throw new UsageError(`no audit files (*.jsonl) in ${positionals.join(', ')}`);
  const result = await verifyTrail(files, key ? { key: key.value } : {});
  for (const t of result.torn) {
    const note = t.message === CUT_SHORT_MESSAGE ? 'not an entry; nothing is missing from the chain' : 'not an entry; the entries before it are checked';
    io.out.stderr(`warning: ${t.file}:${t.line}: ${t.message} (${note})\n`);
  }
  if (!result.ok) {
    const broken = result.firstBroken as BrokenEntry;
    // The broken line counts among the entries checked when it is an entry at all.
    const before = result.entries - (broken.seq === undefined ? 0 : 1);
    io.out.stdout(`BROKEN: ${broken.file}:${broken.line}: ${broken.reason}\nThe ${before} entries before it verify; from this line on, the trail cannot be trusted.\n`);
    return 1;
  }
  const expected = values.head as string | undefined;
  if (expected !== undefined && result.head?.hash !== expected) {
    // A chain that verifies can still have lost its end: entries cut off after the recorded head.
    const where = result.head ? `it ends at entry ${result.head.seq} (${result.head.hash})` : 'it holds no entry';
    io.out.stdout(
      `TRUNCATED OR DIFFERENT: the trail does not end at the head ${expected}; ${where}. The entries present verify, but the trail is not the one whose head was recorded.\n`,
    );
    return 1;
  }
  const hmac = key
    ? `; every HMAC matches the key in $${key.name}`
    : result.signed > 0
      ? `; the entries carry HMACs, not checked: pass --key-env NAME (or set ${DEFAULT_KEY_ENV}) to check them`
      : '';
  const ends = expected !== undefined ? `; it ends at the recorded head` : '';
  io.out.stdout(`intact: ${result.entries} entries in ${files.length} file(s); every hash matches its entry and links to the one before${hmac}${ends}\n`);
  return 0;
}

async function query(values: Values, positionals: string[], io: IO): Promise<number> {
  const format = (values.format as string | undefined) ?? 'table';
  if (!(QUERY_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format '${format}': use ${QUERY_FORMATS.join(', ')}`);
  const formatter = queryFormatter(format as QueryFormat);
  const filter: AuditFilter = {};
  for (const f of filters) if (values[f] !== undefined) filter[f] = values[f] as string;
  // The header waits for the first entry, so a bad path or filter prints only its error.
  let started = false;
  const start = () => {
    if (!started) io.out.stdout(formatter.header);
    started = true;
  };
  const result = await queryTrail(trailPaths(positionals), filter, (entry, where) => {
    start();
    io.out.stdout(formatter.row(entry, where.text));
  });
  start();
  io.out.stderr(`${result.matched} of ${result.scanned} entries matched (${result.files} file(s))\n`);
  if (result.firstSkipped) {
    const at = `${result.firstSkipped.file}:${result.firstSkipped.line}`;
    io.out.stderr(`warning: ${result.skipped} line(s) skipped: not entries (cut short by a crash, or damaged), the first at ${at}; 'rollgate audit verify' tells which\n`);
  }
  return 0;
}

async function report(values: Values, positionals: string[], io: IO): Promise<number> {
  const run = values.run as string | undefined;
  if (!run) throw new UsageError("missing --run ID: rollgate audit report --run ID [PATH...]; 'rollgate audit query --kind run.started' lists the runs");
  const key = hmacKey(values, io.env);
  io.out.stdout(await reportRun(trailPaths(positionals), run, key ? { key: key.value } : {}));
  return 0;
}
