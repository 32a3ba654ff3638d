import { GuardBreachedError, ProviderError } from '../errors.js';
import type { ProbeSnapshot } from '../model/results.js';
import { compileCondition, referencedProbes } from '../util/expression.js';
import { runAnalysis } from './analysis.js';
import { conditionScope, snapshotFor } from './conditions.js';
import type { StageRun } from './stage-run.js';

/**
 * Watches a rollout while its steps run: the stage's guards (probe conditions), the health of
 * what it deployed, and the strategy's background analysis. The first breach calls `breach`,
 * which aborts the steps and starts the rollback; the time it was seen is in the error message
 * and the decision event, so detection-to-rollback can be measured.
 */
export interface Monitor {
  stop(): void;
}

export function startMonitor(run: StageRun, breach: (err: Error) => void): Monitor {
  const controller = new AbortController();
  const { signal } = controller;
  const { stage, session } = run;
  let breached = false;
  const fire = (what: string, reason: string, values: Record<string, unknown>, probes?: ProbeSnapshot) => {
    if (breached || signal.aborted) return;
    breached = true;
    session.emit({
      kind: 'decision.made',
      stage: stage.name,
      decision: 'abort',
      reason: `${what}: ${reason}`,
      evidence: { ...(probes ? { probes } : {}), values: { ...values, detectedAt: new Date(session.clock.now()).toISOString() } },
    });
    breach(new GuardBreachedError(`${what}: ${reason}`));
  };

  const probeNames = [...new Set(stage.guards.flatMap((g) => referencedProbes(g.check)))];
  const loop = async () => {
    let unhealthy = 0;
    while (!signal.aborted) {
      await session.clock.sleep(stage.monitor.interval, signal);
      if (stage.guards.length > 0) {
        const snapshot = await snapshotFor(session, stage, probeNames, signal, true);
        const scope = conditionScope(session, stage, snapshot);
        for (const guard of stage.guards) {
          let holds: boolean;
          let why = guard.message;
          try {
            holds = compileCondition(guard.check)(scope);
          } catch (err) {
            holds = false;
            why = (err as Error).message;
          }
          if (!holds) return fire('guard broke', `${guard.check}${why ? ` (${why})` : ''}`, { condition: guard.check }, snapshot);
        }
      }
      if (run.watch !== 'none') {
        const ctx = run.ctx('monitor', signal);
        try {
          const health = run.watch === 'candidate' ? await run.candidates().candidateHealth(ctx) : await run.target.health(ctx);
          // Only a failure with every unit up counts: a replica still starting is not a breach.
          unhealthy = !health.healthy && health.ready === health.total ? unhealthy + 1 : 0;
          if (unhealthy >= stage.monitor.failureThreshold) {
            return fire('health check failed', `${health.message ?? 'unhealthy'} (${unhealthy} samples in a row)`, { health });
          }
        } catch (err) {
          if (signal.aborted) return;
          if (!(err instanceof ProviderError) || !err.retryable) return fire('health check failed', (err as Error).message, {});
        }
      }
    }
  };
  const background = async () => {
    const metrics = run.runtime.backgroundAnalysis;
    if (!metrics || metrics.length === 0) return;
    // Nothing to measure until the new version takes traffic.
    await Promise.race([run.trafficStarted, new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))]);
    const result = await runAnalysis(metrics, run.analysisEnv('background-analysis'), signal, true);
    // In the background only a decision ends the analysis (stopping it rejects): never `succeeded`.
    if (result.phase === 'inconclusive') run.pauseRequest = `background analysis inconclusive: ${result.message}`;
    else fire(`background analysis ${result.phase}`, result.message, {});
  };
  // Both loops end by the abort of `stop()`; their rejections then are expected.
  void loop().catch(() => {});
  void background().catch(() => {});
  return { stop: () => controller.abort(new Error('rollout ended')) };
}
