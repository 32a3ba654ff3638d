import { setMaxListeners } from 'node:events';
import type { LoadedWorkflow } from '../definition/load.js';
import { errorMessage } from '../errors.js';
import { JOURNAL_FORMAT, type RunJournal } from '../model/journal.js';
import type { ProbeSnapshot } from '../model/results.js';
import { compileCondition, referencedProbes } from '../util/expression.js';
import { maskDeep } from '../util/mask-deep.js';
import { EventBus } from './event-bus.js';
import { MemoryRunStore } from './memory-run-store.js';
import type { ExecutionPlan, StagePlan } from './plan.js';
import { createRunClock, prepareSecrets } from './run-setup.js';
import { RunSession } from './run-session.js';
import { conditionScope, snapshotFor } from './conditions.js';

export interface InspectedStage extends StagePlan {
  /** Whether `when` holds now: true, false, or an error message when it cannot be evaluated. */
  wouldRun: boolean | string;
  probes: ProbeSnapshot;
}

export interface InspectedPlan {
  workflow: string;
  stages: InspectedStage[];
}

/** Stages whose probes are measured at once: a plan of thousands of stages stays within limits. */
const PARALLEL_STAGES = 16;

/**
 * The plan plus what the probes say now: each `when` is evaluated against a fresh, read-only
 * probe snapshot. Nothing is deployed and no journal or audit entry is written. Probe values and
 * errors are masked like everything a run prints: a probe may answer with a secret.
 */
export async function inspectPlan(
  loaded: LoadedWorkflow,
  plan: ExecutionPlan,
  inputs: Record<string, string>,
  env: Record<string, string>,
): Promise<InspectedPlan> {
  const mask = prepareSecrets(loaded.workflow, env);
  const clock = createRunClock(loaded.workflow);
  const journal: RunJournal = {
    format: JOURNAL_FORMAT,
    runId: 'plan',
    workflow: { name: loaded.workflow.name, path: loaded.path, sha256: loaded.sha256 },
    context: { actor: 'plan', ci: 'local' },
    inputs,
    selection: {},
    status: 'running',
    createdAt: new Date(clock.now()).toISOString(),
    updatedAt: new Date(clock.now()).toISOString(),
    seq: 0,
    stages: Object.fromEntries(plan.stages.map((s) => [s.name, { status: 'pending', environment: s.environment, version: s.version, steps: [], compensations: [] }])),
  };
  const session = new RunSession(loaded, journal, new MemoryRunStore(), new EventBus('plan', clock, mask), clock, env);
  const signal = new AbortController().signal;
  // Every probe of every stage listens to this one signal.
  setMaxListeners(0, signal);
  const inspect = async (sp: StagePlan): Promise<InspectedStage> => {
    const stage = session.stage(sp.name);
    if (!stage.when) return { ...sp, wouldRun: true, probes: {} };
    const probes = await snapshotFor(session, stage, referencedProbes(stage.when), signal);
    try {
      return { ...sp, wouldRun: compileCondition(stage.when)(conditionScope(session, stage, probes)), probes };
    } catch (err) {
      return { ...sp, wouldRun: errorMessage(err), probes };
    }
  };
  const stages: InspectedStage[] = new Array(plan.stages.length);
  let next = 0;
  const worker = async () => {
    while (next < plan.stages.length) {
      const i = next++;
      stages[i] = await inspect(plan.stages[i] as StagePlan);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_STAGES, plan.stages.length) }, worker));
  return maskDeep({ workflow: plan.workflow, stages }, mask);
}
