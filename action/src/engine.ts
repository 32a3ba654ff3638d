import * as core from '@actions/core';
import {
  acquireRunLock,
  CancelledError,
  createConsoleReporter,
  FileRunStore,
  printable,
  resumeRun,
  runWorkflow,
  type LoadedWorkflow,
  type RunContext,
  type RunEvent,
  type RunOutcome,
} from '../../core/src/index.js';

/**
 * Runs the engine in this process through core's library API (not by spawning the CLI): the
 * action gets the events as they happen (deployment statuses follow the stages), the outcome as
 * a value, and one Node start-up instead of two. What the CLI's edge does around a run is done
 * here the same way: the journal's lock, the progress lines, and signals.
 */
export interface EngineRequest {
  kind: 'run' | 'resume';
  loaded: LoadedWorkflow;
  statePath: string;
  context: RunContext;
  env: Record<string, string>;
  inputs?: Record<string, string>;
  selection?: { stages?: string[]; environment?: string };
  decision?: { approve: boolean; by: string; comment?: string };
  /** More subscribers (the deployments tracker); the progress log is always there. */
  subscribers?: ((e: RunEvent) => void)[];
  /** Where the action is, for the lock file's holder (`rollgate action main`). */
  holder: string;
}

export async function runEngine(req: EngineRequest): Promise<RunOutcome> {
  const store = new FileRunStore(req.statePath);
  const lock = await acquireRunLock(store.location, req.holder);
  const signals = installSignals();
  try {
    const common = {
      loaded: req.loaded,
      store,
      context: req.context,
      env: req.env,
      signal: signals.cancel,
      stopDrain: signals.stopDrain,
      subscribers: [progressLog(), ...(req.subscribers ?? []), signals.watch],
      onWarning: (m: string) => core.warning(printable(m)),
      onNotice: (m: string) => process.stdout.write(printable(`${m}\n`)),
    };
    if (req.kind === 'run') {
      return await runWorkflow({ ...common, inputs: req.inputs ?? {}, selection: req.selection ?? {} });
    }
    return await resumeRun({ ...common, ...(req.decision ? { decision: req.decision } : {}) });
  } finally {
    signals.uninstall();
    await lock.release();
  }
}

/** The CLI's progress lines, in the job log: one per event, control characters escaped. */
function progressLog(): (e: RunEvent) => void {
  return createConsoleReporter({ write: (s) => process.stdout.write(s), color: false });
}

/**
 * A runner cancelling a job sends SIGINT, then SIGTERM 7.5 s later, then kills the process 2.5 s
 * after that. The first signal cancels the run: the step in flight stops and its stage rolls
 * back. Later signals must not abandon that rollback; if the process is killed before it ends,
 * the journal says so and the post step finishes it. After the run has ended, a signal only cuts
 * the audit trail's last flush short (what is undelivered stays in its spool).
 */
function installSignals() {
  const cancel = new AbortController();
  const drain = new AbortController();
  let ended = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (ended) {
      drain.abort(new CancelledError(`received ${signal}`));
      process.stdout.write(`rollgate: ${signal} received: the run has ended; no longer waiting for the audit trail's last flush\n`);
      return;
    }
    if (cancel.signal.aborted) {
      process.stdout.write(`rollgate: ${signal} received: still rolling back; if this step is killed, the post step finishes the rollback\n`);
      return;
    }
    cancel.abort(new CancelledError(`cancelled: received ${signal}`));
    core.warning(`rollgate: ${signal} received (the job is being cancelled): stopping the step in flight and rolling back`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    cancel: cancel.signal,
    stopDrain: drain.signal,
    watch: (e: RunEvent) => {
      if (e.kind === 'run.finished') ended = true;
    },
    uninstall: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
