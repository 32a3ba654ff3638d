import { signalLiveGroups } from '../util/child-groups.js';
import { runCli } from './cli.js';

/*
 * The process edge: real output streams, the environment, signals and the exit code. Everything
 * else is in cli.ts, which tests drive in-process.
 */

/**
 * Output that can never stop a deployment: once a stream fails (`run … | head` closed the pipe:
 * EPIPE), what would have gone to it is dropped and the run goes on to its end. The journal and
 * the audit trail are the record; the console is only a view.
 */
function safeWriter(stream: NodeJS.WriteStream): (s: string) => void {
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  return (s) => {
    if (broken) return;
    try {
      stream.write(s);
    } catch {
      broken = true;
    }
  };
}
const out = { stdout: safeWriter(process.stdout), stderr: safeWriter(process.stderr) };

// On Node < 22 the AWS SDK prints, in every run that loads it, that its releases after January 2027
// will need Node 22. rollgate ships a release that supports Node 20 and is tested there
// (tests/aws/cli.test.ts): the notice would only be noise in a deployment's log. Set the variable
// to `false` to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runCli(process.argv.slice(2), {
  out,
  env: process.env,
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  installSignals(onSignal) {
    let first: NodeJS.Signals | undefined;
    const handler = (signal: NodeJS.Signals) => {
      if (onSignal(signal) === 'ended') {
        out.stderr(`\nrollgate: ${signal} received: the run has ended; no longer waiting for the audit trail's last flush (what is undelivered is kept in its spool)\n`);
        return;
      }
      if (first) {
        // CI runners follow SIGINT with SIGTERM a few seconds later (GitHub: 7.5 s): that is no
        // reason to abandon a rollback. Only a second Ctrl-C from a person forces the exit.
        if (signal !== 'SIGINT' || first !== 'SIGINT') {
          out.stderr(`\nrollgate: ${signal} received: still rolling back; the journal records what is left if this process is killed\n`);
          return;
        }
        // The commands in flight go with this process: a `resume` started next must not race them.
        const killed = signalLiveGroups('SIGKILL');
        out.stderr(
          `\nrollgate: second SIGINT: exiting now without waiting for the rollback${killed ? ` (killed ${killed} command(s) in flight)` : ''}; run 'rollgate resume' to finish it\n`,
        );
        process.exit(130);
      }
      first = signal;
      out.stderr(`\nrollgate: ${signal} received: stopping the step in flight and rolling back (press Ctrl-C again to exit at once)\n`);
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
