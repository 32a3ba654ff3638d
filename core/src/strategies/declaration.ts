import type { PlanFacts, Shortcut, StrategyDeclaration } from '../ports/strategy.js';

/** A declaration that asks for nothing; a strategy adds what it needs. */
export function declaration(parts: Partial<StrategyDeclaration> = {}): StrategyDeclaration {
  return { needs: [], waits: [], analyses: [], probes: [], conditions: [], choices: [], problems: [], weights: [], ...parts };
}

/**
 * The shortcut of the strategies that run a candidate beside the stable version (canary,
 * blue-green). With nothing running yet there is no traffic to shift: the version is deployed
 * directly and verified. With the requested version already running, there is nothing to roll out.
 */
export function candidateShortcut(facts: PlanFacts, version: string): Shortcut | undefined {
  if (facts.running === null) {
    return {
      decision: 'first-deploy',
      reason: `nothing runs yet, so there is no traffic to shift: deploying ${version} directly and verifying it`,
      steps: [
        { id: 'deploy', action: 'deploy' },
        { id: 'verify', action: 'verify' },
      ],
    };
  }
  if (facts.running === version) {
    return { decision: 're-deploy', reason: `${version} already runs and no candidate is running: nothing to roll out`, steps: [] };
  }
  return undefined;
}
