#!/usr/bin/env node
import { runCli } from './cli.js';

/*
 * The process edge: real output streams, the environment, signals and the exit code. Everything
 * else is in cli.ts, which tests drive in-process.
 */
const out = { stdout: (s: string) => void process.stdout.write(s), stderr: (s: string) => void process.stderr.write(s) };

runCli(process.argv.slice(2), {
  out,
  env: process.env,
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  installSignals(onSignal) {
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
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    out.stderr(`rollgate: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
