import { GuardBreachedError, ProviderError } from '../errors.js';
import type { HealthReport, ProbeSnapshot } from '../model/results.js';
import { aborted } from '../util/abort.js';
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
  const samples = new Map<string, Sample>();
  const loop = async () => {
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
        // During a canary or blue-green both versions serve (or stand by): both are watched.
        const watched = run.watch === 'candidate' ? ['new version', 'stable version'] : ['target'];
        for (const what of watched) {
          const read = what === 'new version' ? () => run.candidates().candidateHealth(ctx) : () => run.target.health(ctx);
          let health: HealthReport;
          try {
            health = await read();
          } catch (err) {
            if (signal.aborted) return;
            if (!(err instanceof ProviderError) || !err.retryable) return fire('health check failed', (err as Error).message, {});
            continue;
          }
          // The stable version is what the rollout would fall back to: its own errors (it may be what
          // the new version fixes) do not stop the rollout, but losing its units does.
          const verdict = judgeSample(samples, what, health, what !== 'stable version');
          if (verdict.lostNow) {
            session.emit({
              kind: 'decision.made',
              stage: stage.name,
              decision: 'units lost',
              reason: `${what}: ${verdict.lostNow} of ${health.total} unit(s) that were ready are not any more: ${health.message ?? 'not ready'}; the rollout stops if this lasts ${stage.monitor.failureThreshold} samples`,
              evidence: { values: { health, detectedAt: new Date(session.clock.now()).toISOString() } },
            });
          }
          if (verdict.bad >= stage.monitor.failureThreshold) {
            const why = verdict.lost > 0 ? `${verdict.lost} of ${health.total} unit(s) lost` : health.message ?? 'unhealthy';
            return fire('health check failed', `${what}: ${why} (${verdict.bad} samples in a row)`, { health });
          }
        }
      }
    }
  };
  const background = async () => {
    const metrics = run.runtime.backgroundAnalysis;
    if (!metrics || metrics.length === 0) return;
    // Nothing to measure until the new version takes traffic.
    await Promise.race([run.trafficStarted, aborted(signal)]);
    const result = await runAnalysis(metrics, run.analysisEnv('background-analysis'), signal, true);
    // Metrics with a `count` end by themselves: a success means they have nothing more to say.
    if (result.phase === 'succeeded') return;
    if (result.phase === 'inconclusive') run.pauseRequest = `background analysis inconclusive: ${result.message}`;
    else fire(`background analysis ${result.phase}`, result.message, {});
  };
  // Both loops end by the abort of `stop()`; their rejections then are expected.
  void loop().catch(() => {});
  void background().catch(() => {});
  return { stop: () => controller.abort(new Error('rollout ended')) };
}

/** What the monitor remembers of one watched thing between samples. */
interface Sample {
  /** Unhealthy samples in a row that count (every unit up and failing, or units lost). */
  bad: number;
  /** The unit count when everything was last seen ready: fewer ready since then means units lost. */
  fullAt?: number;
  /** Units lost at the last sample, so the loss is announced once, when it begins or grows. */
  lost: number;
}

/**
 * Judges one health sample. A failure with every unit up counts (a bad version) when `failingCounts`. So do units that
 * were ready and are not any more at the same scale (nodes crashed): not a slow start. Units still
 * starting, after a scale change, do not count.
 */
function judgeSample(samples: Map<string, Sample>, what: string, health: HealthReport, failingCounts: boolean): { bad: number; lost: number; lostNow: number } {
  const s = samples.get(what) ?? { bad: 0, lost: 0 };
  samples.set(what, s);
  if (health.total !== s.fullAt) delete s.fullAt;
  if (health.ready === health.total && health.total > 0) s.fullAt = health.total;
  const lost = s.fullAt !== undefined ? s.fullAt - health.ready : 0;
  const lostNow = lost > s.lost ? lost : 0;
  s.lost = lost;
  s.bad = (failingCounts && !health.healthy && health.ready === health.total) || lost > 0 ? s.bad + 1 : 0;
  return { bad: s.bad, lost, lostNow };
}
