#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HELP, USAGE } from './help.js';

/*
 * The rollgate CLI: the edge where the environment, flags and exit codes live. Heavy modules
 * (schema, YAML, CEL) load only for commands that need them, so `--version` starts fast.
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
  json: { type: 'boolean' },
  scenario: { type: 'string' },
  actor: { type: 'string' },
} satisfies ParseArgsConfig['options'];

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const out: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

async function main(argv: string[]): Promise<number> {
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
  return runCommand(command as keyof typeof HELP, parsed.values as Record<string, unknown>, parsed.positionals, {
    out,
    env: process.env,
    defaultState: DEFAULT_STATE,
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    installSignals: (onSignal) => {
      let count = 0;
      const handler = (signal: NodeJS.Signals) => {
        count += 1;
        if (count > 1) {
          out.stderr(`\nrollgate: second ${signal}: exiting now without waiting for the rollback; see the journal for what is left\n`);
          process.exit(130);
        }
        out.stderr(`\nrollgate: ${signal} received: stopping the step in flight and rolling back (press Ctrl-C again to exit at once)\n`);
        onSignal(signal);
      };
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
    },
  });
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    out.stderr(`rollgate: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
