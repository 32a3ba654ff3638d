import type { Stage } from '../definition/schema.js';
import { errorMessage, PreflightFailedError } from '../errors.js';
import type { ProbeSnapshot } from '../model/results.js';
import { formatDuration } from '../util/duration.js';
import { compileCondition, referencedProbes } from '../util/expression.js';
import { conditionScope, snapshotFor } from './conditions.js';
import type { RunSession } from './run-session.js';

/**
 * `waitFor`: before anything changes, measures the probes its condition reads every `interval`
 * until the condition holds (a migration applied, a dependency back). Past `timeout` the stage
 * fails with nothing changed, saying what it saw last. A probe that fails, or a condition that
 * cannot be evaluated on what it returned, means "not yet": a database restarting mid-wait must
 * not fail the release, and the last error is in the message if the wait runs out.
 */
export async function waitForCondition(session: RunSession, stage: Stage, signal: AbortSignal): Promise<void> {
  const wait = stage.waitFor;
  if (!wait) return;
  const names = [...new Set(referencedProbes(wait.check))];
  const test = compileCondition(wait.check);
  const started = session.clock.now();
  const what = `${wait.check}${wait.message ? ` (${wait.message})` : ''}`;
  for (let measured = 0; ; measured += 1) {
    // The first and the last snapshot are recorded; those between are evidence only if they decide.
    const snapshot = await snapshotFor(session, stage, names, signal, measured > 0);
    const { holds, error } = evaluate(test, session, stage, snapshot);
    const waited = session.clock.now() - started;
    if (holds) {
      if (measured > 0) {
        session.emit({ kind: 'probes.measured', stage: stage.name, snapshot });
        decide(session, stage, 'wait over', `${wait.check} holds after ${formatDuration(waited)}`, snapshot);
      }
      return;
    }
    if (measured === 0) {
      decide(session, stage, 'wait', `waiting up to ${formatDuration(wait.timeout)} for ${what}: ${seen(snapshot, error)}`, snapshot);
    }
    if (waited >= wait.timeout) {
      if (measured > 0) session.emit({ kind: 'probes.measured', stage: stage.name, snapshot });
      decide(session, stage, 'wait timed out', `${wait.check} still does not hold after ${formatDuration(waited)}: ${seen(snapshot, error)}`, snapshot);
      throw new PreflightFailedError(`waited ${formatDuration(waited)} for ${what}; it still does not hold: ${seen(snapshot, error)}`);
    }
    await session.clock.sleep(Math.min(wait.interval, wait.timeout - waited), signal);
  }
}

function evaluate(test: (scope: Record<string, unknown>) => boolean, session: RunSession, stage: Stage, snapshot: ProbeSnapshot): { holds: boolean; error?: string } {
  try {
    return { holds: test(conditionScope(session, stage, snapshot)) };
  } catch (err) {
    return { holds: false, error: errorMessage(err) };
  }
}

function decide(session: RunSession, stage: Stage, decision: string, reason: string, snapshot: ProbeSnapshot): void {
  const condition = stage.waitFor?.check as string;
  session.emit({ kind: 'decision.made', stage: stage.name, decision, reason, evidence: { condition, probes: snapshot } });
}

/** What the probes returned, as a person reads it: `schema=41`, `db failed (connection refused)`. */
function seen(snapshot: ProbeSnapshot, error: string | undefined): string {
  const values = Object.entries(snapshot).map(([name, r]) => (r.ok ? `${name}=${JSON.stringify(r.value ?? null)}` : `${name} failed (${r.error ?? 'not ok'})`));
  const parts = [...(values.length > 0 ? [`probes ${values.join(', ')}`] : []), ...(error ? [`the condition could not be evaluated: ${error}`] : [])];
  return parts.length > 0 ? parts.join('; ') : 'it reads no probe';
}
