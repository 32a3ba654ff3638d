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
    let first: NodeJS.Signals | undefined;
    const handler = (signal: NodeJS.Signals) => {
      if (first) {
        // CI runners follow SIGINT with SIGTERM a few seconds later (GitHub: 7.5 s): that is no
        // reason to abandon a rollback. Only a second Ctrl-C from a person forces the exit.
        if (signal !== 'SIGINT' || first !== 'SIGINT') {
          out.stderr(`\nrollgate: ${signal} received: still rolling back; the journal records what is left if this process is killed\n`);
          return;
        }
        out.stderr(`\nrollgate: second SIGINT: exiting now without waiting for the rollback; run 'rollgate resume' to finish it\n`);
        process.exit(130);
      }
      first = signal;
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
