import type { Stage } from '../definition/schema.js';
import type { ProbeSnapshot } from '../model/results.js';
import type { RunSession } from './run-session.js';
import { takeSnapshot } from './snapshot.js';
import { createProbe } from './wiring.js';

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
  const ctx = session.stepContext(stage, 'probes', signal, session.record(stage.name).version);
  const deps = session.stageDeps(stage, ctx.log);
  const probes = names.map((name) => {
    const config = session.workflow.probes[name];
    if (!config) throw new Error(`probe ${name} is not declared`);
    return { name, probe: createProbe(config, deps), timeoutMs: config.timeout };
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

