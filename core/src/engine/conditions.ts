import type { Stage } from '../definition/schema.js';
import { InternalError } from '../errors.js';
import type { ProbeSnapshot } from '../model/results.js';
import type { RunSession } from './run-session.js';
import { takeSnapshot } from './snapshot.js';

/*
 * Probe snapshots and the scope conditions are evaluated in: shared by `when`, pre-flight checks,
 * guards, smoke steps and `auto`.
 */

export async function snapshotFor(
  session: RunSession,
  stage: Stage,
  names: string[],
  signal: AbortSignal,
  /** The monitor samples often: its snapshots are recorded only as evidence of a breach. */
  quiet = false,
): Promise<ProbeSnapshot> {
  if (names.length === 0) return {};
  const ctx = session.providers.stepContext(stage, 'probes', signal, session.record(stage.name).version);
  const probes = names.map((name) => {
    const config = session.workflow.probes[name];
    // Validation refuses a condition that names an undeclared probe.
    if (!config) throw new InternalError(`probe ${name} is not declared`);
    return { name, probe: session.providers.probe(stage, name, config, ctx.log), timeoutMs: config.timeout };
  });
  const snapshot = await takeSnapshot(probes, ctx);
  if (!quiet) session.emit({ kind: 'probes.measured', stage: stage.name, snapshot });
  return snapshot;
}

export function conditionScope(session: RunSession, stage: Stage, snapshot: ProbeSnapshot): Record<string, unknown> {
  const probes = Object.fromEntries(
    Object.entries(snapshot).map(([name, r]) => [name, { ...r.details, ok: r.ok, value: r.value, latencyMs: r.latencyMs, error: r.error ?? '' }]),
  );
  return {
    probes,
    inputs: session.journal.inputs,
    vars: session.workflow.environments[stage.environment]?.variables ?? {},
    environment: stage.environment,
    stage: stage.name,
  };
}

