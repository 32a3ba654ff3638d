/** The CLI's edge as its commands see it: output, the environment, and signals. */

/**
 * What a signal means to the run: `cancelling` (the run was cancelled: its step stops and its
 * stage rolls back), or `ended` (the run is over and only the audit trail's last flush is left,
 * which the signal ends at once, keeping what is undelivered in its spool).
 */
export type SignalHandler = (signal: NodeJS.Signals) => 'cancelling' | 'ended';

export interface CliIO {
  out: { stdout: (s: string) => void; stderr: (s: string) => void };
  env: NodeJS.ProcessEnv;
  color: boolean;
  /** Calls `onSignal` on SIGINT/SIGTERM; what it answers decides what the process says and does. */
  installSignals: (onSignal: SignalHandler) => void;
}

/** What the run commands get beyond the edge: where the journal goes by default. */
export interface CommandIO extends CliIO {
  defaultState: string;
}
