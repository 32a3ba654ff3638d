import type { StepContext } from '../../ports/step-context.js';
import type { StrategyStep } from '../../ports/strategy.js';
import type { StageRun } from '../stage-run.js';
import { deployCandidate, promote, setCandidateScale, setWeight, verifyCandidate } from './candidate.js';
import { deploy, verify } from './direct.js';
import { analysis, approval, choose, pause, smoke } from './gates.js';
import { wave } from './wave.js';

/** Runs one strategy step; returns a line for the step's `succeeded` event. */
export function runStep(run: StageRun, step: StrategyStep, ctx: StepContext): Promise<string> {
  switch (step.action) {
    case 'deploy':
      return deploy(run, step.id, ctx);
    case 'verify':
      return verify(run, ctx);
    case 'pause':
      return pause(step.durationMs, ctx);
    case 'approval':
      return Promise.resolve().then(() => approval(run, step.id, step.message));
    case 'deploy-candidate':
      return deployCandidate(run, step.id, step.replicas, ctx);
    case 'verify-candidate':
      return verifyCandidate(run, ctx);
    case 'set-weight':
      return setWeight(run, step.id, step.weight, ctx);
    case 'set-candidate-scale':
      return setCandidateScale(run, step.replicas, ctx);
    case 'analysis':
      return analysis(run, step.id, step.metrics, ctx);
    case 'smoke':
      return smoke(run, step.probes, ctx);
    case 'promote':
      return promote(run, step.id, ctx);
    case 'wave':
      return wave(run, step.id, step.upTo, ctx);
    case 'choose':
      return choose(run, ctx);
  }
}
