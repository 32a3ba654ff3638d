import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Whether this module is the process's entry point (`node action/dist/main.js`, as the runner
 * starts it). `@github/local-action` instead imports the module and calls its exported `run()`
 * itself; it must not run twice.
 */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/**
 * Output never stops a deployment (as in the CLI): once the log's pipe is gone (EPIPE), what
 * would have been printed is dropped and the rollout goes on to its end, instead of the process
 * dying mid-change on an unhandled stream error. The journal and the audit trail are the record.
 */
export function surviveClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) if (stream.listenerCount('error') === 0) stream.on('error', () => {});
}
