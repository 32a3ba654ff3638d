import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { repoRoot } from '../util/repo-root.js';
import type { CliIO } from './io.js';
import { HELP, USAGE } from './help.js';

/*
 * The rollgate CLI: flags, help and exit codes. Heavy modules (schema, YAML, CEL) load only for
 * commands that need them, so `--version` starts fast.
 */
const DEFAULT_STATE = '.rollgate/run.json';

const common = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

const runOptions = {
  ...common,
  stage: { type: 'string', multiple: true },
  env: { type: 'string' },
  input: { type: 'string', multiple: true, short: 'i' },
  state: { type: 'string' },
  json: { type: 'boolean' },
  scenario: { type: 'string' },
  actor: { type: 'string' },
} satisfies ParseArgsConfig['options'];

const resumeOptions = {
  ...common,
  state: { type: 'string' },
  approve: { type: 'boolean' },
  reject: { type: 'boolean' },
  by: { type: 'string' },
  comment: { type: 'string' },
  workflow: { type: 'string' },
  resolved: { type: 'string' },
  'accept-changed-workflow': { type: 'boolean' },
  json: { type: 'boolean' },
  scenario: { type: 'string' },
  actor: { type: 'string' },
} satisfies ParseArgsConfig['options'];


export type { CliIO } from './io.js';

/** The whole CLI as a function of its arguments and its edge (output, environment, signals). */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const { out } = io;
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    out.stdout(`${version()}\n`);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = rest[0];
    out.stdout(topic && topic in HELP ? HELP[topic as keyof typeof HELP] : USAGE);
    return 0;
  }
  if (!(command in HELP)) {
    out.stderr(`rollgate: unknown command '${command}'\n\n${USAGE}`);
    return 2;
  }
  if (command === 'audit') {
    // Subcommands with flags of their own: parsed in audit-command.ts.
    const { runAuditCommand } = await import('./audit-command.js');
    return runAuditCommand(rest, io);
  }
  const { runCommand } = await import('./commands.js');
  const spec = command === 'resume' ? resumeOptions : command === 'validate' ? common : runOptions;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: spec, allowPositionals: true, strict: true });
  } catch (err) {
    out.stderr(`rollgate ${command}: ${(err as Error).message}\nSee 'rollgate ${command} --help'.\n`);
    return 2;
  }
  if (parsed.values.help) {
    out.stdout(HELP[command as keyof typeof HELP]);
    return 0;
  }
  return runCommand(command as Exclude<keyof typeof HELP, 'audit'>, parsed.values as Record<string, unknown>, parsed.positionals, {
    ...io,
    defaultState: DEFAULT_STATE,
  });
}

/**
 * Fixed at build time by the self-contained build (scripts/build-standalone.mjs), which has no
 * package.json beside it; undefined in every other build, which reads package.json.
 */
declare const __ROLLGATE_VERSION__: string | undefined;

function version(): string {
  if (typeof __ROLLGATE_VERSION__ === 'string') return __ROLLGATE_VERSION__;
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

