import * as core from '@actions/core';

/**
 * What the main step tells the post step, through `core.saveState` (the runner hands it to post
 * as `STATE_*`). Saved as the run goes, not only at the end: when the job is cancelled and the
 * main step is killed mid-rollout, `phase` is still `running`, and that is how post knows it must
 * finish the rollback (or mark the run for `resume`).
 */
export interface StepState {
  /** `running` from just before the engine starts until it returns; `finished` after. */
  phase: 'running' | 'finished';
  mode: 'run' | 'resume';
  /** Absolute path of the journal, so post finds it whatever its working directory. */
  statePath: string;
  /** Absolute path of the workflow file. */
  workflow: string;
  artifactName: string;
  /** GitHub deployment ids by environment, so post can update them without a lookup. */
  deployments: Record<string, number>;
}

const KEY = 'rollgate';

export function saveStepState(state: StepState): void {
  core.saveState(KEY, JSON.stringify(state));
}

/** The state main left, or `undefined` when it never got as far as starting a run. */
export function loadStepState(): StepState | undefined {
  const text = core.getState(KEY);
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as StepState;
    return typeof parsed.statePath === 'string' && typeof parsed.workflow === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
