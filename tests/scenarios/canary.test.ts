import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../core/src/engine/executor.js';
import {
  at,
  candidateErrors,
  changeLine,
  changes,
  first,
  load,
  ofKind,
  resume,
  run,
  savedService,
  stage,
  trail,
} from './support.js';

/*
 * Canary rollouts on the simulated infrastructure, and the ways they fail: a bad version caught
 * by analysis, a deadline, a probe guard, an inconclusive analysis. Each test asserts the outcome,
 * what changed, and the trail of events that led there.
 */

/** v2 fails 4% of its requests: under the 5% at which its readiness fails, so only analysis sees it. */
const subtlyBad = { kind: 'bad-version', version: 'v2', errorRate: 0.04 };
const cluster = (failures: unknown[] = [], extra: Record<string, unknown> = {}) => ({ nodes: 5, services: { web: { version: 'v1' } }, failures, ...extra });
const router = { type: 'sim' };
const strict = candidateErrors({ successCondition: 'result < 0.01' });

describe('a bad version caught by analysis at the first canary step', () => {
  const loaded = load({
    sim: cluster([subtlyBad]),
    stages: [
      stage('web', {
        router,
        strategy: {
          type: 'canary',
          abortScaleDownDelay: '45s',
          steps: [{ setWeight: 10 }, { analysis: { metrics: [strict] } }, { setWeight: 50 }, { pause: { duration: '1m' } }],
        },
      }),
    ],
  });

  it('rolls back: traffic leaves the canary at once, the canary goes after abortScaleDownDelay', async () => {
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(exitCodeFor(outcome.status)).toBe(1);

    expect(
      trail(events, ['weight.changed', 'analysis.measured', 'step.failed', 'rollback.started', 'rollback.step', 'rollback.finished', 'stage.finished', 'run.finished']),
    ).toEqual([
      'weight.changed:0->10',
      'analysis.measured:failed',
      'step.failed:analysis@2',
      'rollback.started',
      'rollback.step:ok', // router.reset: weight 0
      'rollback.step:ok', // candidate.remove, after the delay
      'rollback.finished:complete',
      'stage.finished:rolled-back',
      'run.finished:rolled-back',
    ]);
    // It never went on to 50%.
    expect(changes(events).map(changeLine)).not.toContain('route/web.weight: 10 -> 50');

    const measured = first(events, 'analysis.measured');
    expect(measured).toMatchObject({ metric: 'candidate-errors', verdict: 'failed', condition: 'success: result < 0.01' });
    expect(measured.value).toBeGreaterThan(0.03);

    const started = first(events, 'rollback.started');
    expect(started.reason).toMatch(/^analysis failed: candidate-errors: 1 failed measurement\(s\), limit 0; last: 0\.0\d+ \(result < 0\.01 is false\)$/);
    // Weight 0 at the moment of the rollback, the canary removed 45 s later.
    const zero = first(events, 'infra.changed', (e) => e.change.object === 'route/web' && e.change.after === 0);
    expect(zero.change).toEqual({ object: 'route/web', field: 'weight', before: 10, after: 0 });
    expect(at(zero)).toBe(at(started));
    const removed = first(events, 'infra.changed', (e) => e.change.field === 'candidate' && e.change.after === null);
    expect(removed.change.before).toBe('v2');
    expect(at(removed) - at(started)).toBe(45_000);

    expect(outcome.journal.stages.web?.compensations.map((c) => [c.op, c.status])).toEqual([
      ['candidate.remove', 'done'],
      ['router.reset', 'done'],
    ]);
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1', replicas: 5, route: 'none' });
    expect(savedService(outcome.journal)?.candidate).toBeUndefined();
  });

  it('starts the rollback within one sample interval of the failing measurement', async () => {
    const { events } = await run(loaded);
    const failing = first(events, 'analysis.measured', (e) => e.verdict === 'failed');
    const started = first(events, 'rollback.started');
    expect(at(started) - at(failing)).toBeLessThanOrEqual(30_000);
    // On the simulated infrastructure the reaction is immediate.
    expect(at(started)).toBe(at(failing));
  });

  it('catches it with background analysis too, within one interval of the first failing sample', async () => {
    const background = load({
      sim: cluster([subtlyBad]),
      stages: [
        stage('web', {
          router,
          strategy: {
            type: 'canary',
            // No count: measured beside every step until promotion.
            analysis: { metrics: [candidateErrors({ successCondition: 'result < 0.01', interval: '20s', failureLimit: 1, count: undefined })] },
            steps: [{ setWeight: 10 }, { pause: { duration: '5m' } }, { setWeight: 50 }],
          },
        }),
      ],
    });
    const { outcome, events } = await run(background);
    expect(outcome.status).toBe('rolled-back');
    // Background analysis waits for the canary's first traffic (10% at 10 s): no "no data" pause before it.
    expect(at(first(events, 'analysis.measured'))).toBe(at(first(events, 'weight.changed')));
    const failed = ofKind(events, 'analysis.measured').filter((e) => e.verdict === 'failed');
    // failureLimit 1: the second failed sample decides.
    expect(failed.length).toBeGreaterThanOrEqual(2);
    const decided = failed[1] as (typeof failed)[number];
    const abort = first(events, 'decision.made', (e) => e.decision === 'abort');
    expect(abort.reason).toMatch(/^background analysis failed: candidate-errors: 2 failed measurement\(s\), limit 1/);
    const started = first(events, 'rollback.started');
    expect(at(started) - at(decided)).toBeLessThanOrEqual(20_000);
    expect(at(abort)).toBe(at(decided));
  });
});

describe('detection to rollback', () => {
  it('the health monitor: a canary whose readiness fails is aborted at the breaching sample, and the rollback starts then', async () => {
    const loaded = load({
      sim: cluster([{ kind: 'bad-version', version: 'v2', errorRate: 0.3 }]),
      stages: [stage('web', { router, monitor: { interval: '5s', failureThreshold: 2 }, strategy: { type: 'canary', steps: [{ setWeight: 10 }] } })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    const decision = first(events, 'decision.made', (e) => e.decision === 'abort');
    expect(decision.reason).toBe('health check failed: new version: readiness failing: 30% of requests fail (2 samples in a row)');
    expect(decision.evidence.values).toMatchObject({ health: { healthy: false, ready: 1, total: 1 } });
    const started = first(events, 'rollback.started');
    expect(at(started) - at(decision)).toBeLessThanOrEqual(5_000);
    expect(at(started)).toBe(at(decision));
    // Caught before any traffic reached it.
    expect(ofKind(events, 'weight.changed')).toEqual([]);
  });
});

describe('the rollout deadline passes', () => {
  it('rolls back when the stage timeout is shorter than the canary pauses', async () => {
    const loaded = load({
      sim: cluster(),
      stages: [
        stage('web', {
          router,
          timeout: '5m',
          strategy: { type: 'canary', steps: [{ setWeight: 20 }, { pause: { duration: '3m' } }, { setWeight: 50 }, { pause: { duration: '3m' } }] },
        }),
      ],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(trail(events, ['weight.changed', 'step.failed', 'rollback.started', 'rollback.finished', 'stage.finished'])).toEqual([
      'weight.changed:0->20',
      'weight.changed:20->50',
      'step.failed:pause@4',
      'rollback.started',
      'rollback.finished:complete',
      'stage.finished:rolled-back',
    ]);
    const started = first(events, 'rollback.started');
    expect(at(started)).toBe(300_000);
    expect(started.reason).toBe('deadline passed: stage web (its timeout): deadline of 300s passed');
    expect(first(events, 'step.failed').errorKind).toBe('DeadlineExceededError');
    expect(changes(events).map(changeLine)).toContain('route/web.weight: 50 -> 0');
    expect(outcome.journal.stages.web?.message).toMatch(/deadline of 300s passed; rolled back$/);
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1', route: 'none' });
  });
});

describe('a probe guard breaks mid-rollout', () => {
  it('rolls back when the database goes down during a canary pause, with the probe values as evidence', async () => {
    const loaded = load({
      sim: cluster([{ kind: 'database-down', at: '62s' }]),
      probes: { db: { type: 'sim', measure: 'database' } },
      stages: [
        stage('web', {
          router,
          guards: [{ check: 'probes.db.ok', message: 'web needs its database' }],
          monitor: { interval: '5s' },
          strategy: { type: 'canary', steps: [{ setWeight: 20 }, { pause: { duration: '5m' } }, { setWeight: 100 }] },
        }),
      ],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(trail(events, ['weight.changed', 'decision.made', 'step.failed', 'rollback.started', 'rollback.finished', 'stage.finished'])).toEqual([
      'weight.changed:0->20',
      'decision.made:abort',
      'step.failed:pause@2',
      'rollback.started',
      'rollback.finished:complete',
      'stage.finished:rolled-back',
    ]);
    const decision = first(events, 'decision.made', (e) => e.decision === 'abort');
    expect(decision.reason).toBe('guard broke: probes.db.ok (web needs its database)');
    // The snapshot it judged is the evidence, as for pre-flight checks, `when` and `auto`.
    expect(decision.evidence.probes).toMatchObject({ db: { ok: false, value: 'down', error: 'sim: database is down' } });
    expect(decision.evidence.values).toMatchObject({ condition: 'probes.db.ok', detectedAt: '2026-01-01T00:01:05.000Z' });
    // The database went down at 62 s; the 5 s monitor saw it at its next sample, 65 s.
    expect(at(decision)).toBe(65_000);
    const started = first(events, 'rollback.started');
    expect(at(started) - at(decision)).toBeLessThanOrEqual(5_000);
    expect(started.reason).toBe('guard broke: probes.db.ok (web needs its database)');
    expect(changes(events).map(changeLine)).toContain('route/web.weight: 20 -> 0');
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1', route: 'none' });
  });
});

describe('first deploy and re-deploy', () => {
  const canary = { type: 'canary', steps: [{ setWeight: 20 }, { analysis: { metrics: [candidateErrors()] } }] };

  it('deploys directly when nothing runs yet, recording a first-deploy decision', async () => {
    const { outcome, events } = await run(load({ sim: { nodes: 5 }, stages: [stage('web', { router, strategy: canary })] }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
    const decision = first(events, 'decision.made');
    expect(decision).toMatchObject({
      decision: 'first-deploy',
      reason: 'nothing runs yet, so there is no traffic to shift: deploying v2 directly and verifying it',
      evidence: { values: { running: null, requested: 'v2' } },
    });
    expect(trail(events, ['step.succeeded', 'weight.changed'])).toEqual(['step.succeeded:deploy', 'step.succeeded:verify']);
    expect(changes(events)).toEqual([{ object: 'service/web', field: 'version', before: null, after: 'v2' }]);
    expect(outcome.journal.stages.web?.compensations.map((c) => c.description)).toEqual(['remove v2 from web (first deploy)']);
  });

  it('changes nothing when the requested version already runs, recording a re-deploy decision', async () => {
    const { outcome, events } = await run(load({ sim: { nodes: 5, services: { web: { version: 'v2' } } }, stages: [stage('web', { router, strategy: canary })] }));
    expect(outcome.status).toBe('succeeded');
    expect(first(events, 'decision.made')).toMatchObject({
      decision: 're-deploy',
      reason: 'v2 already runs and no candidate is running: nothing to roll out',
      evidence: { values: { running: 'v2', requested: 'v2' } },
    });
    expect(ofKind(events, 'infra.changed')).toEqual([]);
    expect(ofKind(events, 'step.started')).toEqual([]);
    expect(outcome.journal.stages.web?.compensations).toEqual([]);
  });
});

describe('a canary without a router', () => {
  it('approximates each weight by replica counts and says so on weight.changed', async () => {
    const loaded = load({
      sim: cluster(),
      stages: [stage('web', { strategy: { type: 'canary', steps: [{ setWeight: 10 }, { setWeight: 25 }, { setWeight: 50 }, { pause: { duration: '30s' } }] } })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    // 5 replicas: 10% rounds to 1 (at least one above 0), 25% to 1, 50% to 3 (2.5 rounds up).
    expect(ofKind(events, 'weight.changed').map((e) => [e.from, e.to, e.note])).toEqual([
      [0, 10, 'no router: 10% approximated by 1 of 5 replicas (20%)'],
      [10, 25, 'no router: 25% approximated by 1 of 5 replicas (20%)'],
      [25, 50, 'no router: 50% approximated by 3 of 5 replicas (60%)'],
    ]);
    expect(changes(events).map(changeLine)).toContain('service/web.replicas: 5 -> 4');
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v2', replicas: 5, route: 'none' });
  });

  it('rolls back by scaling the stable version back and removing the canary', async () => {
    const loaded = load({
      sim: cluster([subtlyBad]),
      stages: [stage('web', { strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 40 }, { analysis: { metrics: [strict] } }] } })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(first(events, 'weight.changed').note).toBe('no router: 40% approximated by 2 of 5 replicas (40%)');
    expect(outcome.journal.stages.web?.compensations.map((c) => [c.op, c.status])).toEqual([
      ['candidate.remove', 'done'],
      ['candidate.restore-scale', 'done'],
    ]);
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1', replicas: 5 });
    expect(savedService(outcome.journal)?.candidate).toBeUndefined();
  });
});

describe('an inconclusive analysis pauses the run for a person', () => {
  // 0.03 is neither a success (< 0.01) nor a failure (> 0.05): inconclusive.
  const undecided = candidateErrors({ successCondition: 'result < 0.01', failureCondition: 'result > 0.05' });
  const loaded = load({
    sim: cluster([{ kind: 'bad-version', version: 'v2', errorRate: 0.03 }]),
    stages: [stage('web', { router, strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 10 }, { analysis: { metrics: [undecided] } }, { setWeight: 50 }] } })],
  });

  it('pauses with exit 3 at 10%, then --approve goes on from where it stopped', async () => {
    const { outcome, events, store } = await run(loaded);
    expect(outcome.status).toBe('paused');
    expect(outcome.exitCode).toBe(3);
    expect(trail(events, ['weight.changed', 'analysis.measured', 'run.paused', 'stage.finished'])).toEqual(['weight.changed:0->10', 'analysis.measured:inconclusive', 'run.paused']);
    expect(first(events, 'run.paused')).toMatchObject({ stage: 'web', gate: 'analysis@2' });
    expect(outcome.journal.stages.web).toMatchObject({ status: 'paused', pausedAt: 'analysis@2' });

    const resumed = await resume(loaded, store, { decision: { approve: true, by: 'carol', comment: 'within noise' } });
    expect(resumed.outcome.status).toBe('succeeded');
    expect(first(resumed.events, 'approval.decided')).toMatchObject({ gate: 'analysis@2', decision: { status: 'approved', by: 'carol' } });
    // The steps done before the pause are not run again; the analysis step records the approval.
    expect(trail(resumed.events, ['step.started'])).toEqual(['step.started:analysis@2', 'step.started:weight-50@3', 'step.started:promote']);
    // (its `from` is wrong after a resume: see the defect below)
    expect(ofKind(resumed.events, 'weight.changed').map((e) => e.to)).toEqual([50]);
    expect(first(resumed.events, 'step.succeeded', (e) => e.step === 'analysis@2').message).toBe('inconclusive analysis approved by carol (within noise)');
    expect(savedService(resumed.outcome.journal)).toMatchObject({ version: 'v2' });
  });

  it('after --approve, the next weight change starts from the weight set before the pause', async () => {
    const { store } = await run(loaded);
    const resumed = await resume(loaded, store, { decision: { approve: true, by: 'carol' } });
    expect(ofKind(resumed.events, 'weight.changed').map((e) => [e.from, e.to])).toEqual([[10, 50]]);
  });

  it('--reject rolls the canary back', async () => {
    const { store } = await run(loaded);
    const resumed = await resume(loaded, store, { decision: { approve: false, by: 'carol' } });
    expect(resumed.outcome.status).toBe('rolled-back');
    expect(resumed.outcome.exitCode).toBe(1);
    // The rejection rolls back what the stage changed, without running any step again.
    expect(trail(resumed.events, ['approval.decided', 'step.started', 'step.failed', 'rollback.started', 'rollback.finished', 'stage.finished'])).toEqual([
      'approval.decided',
      'rollback.started',
      'rollback.finished:complete',
      'stage.finished:rolled-back',
    ]);
    expect(first(resumed.events, 'rollback.started').reason).toBe('rejected by carol');
    expect(changes(resumed.events).map(changeLine)).toContain('route/web.weight: 10 -> 0');
    expect(savedService(resumed.outcome.journal)).toMatchObject({ version: 'v1' });
    expect(savedService(resumed.outcome.journal)?.candidate).toBeUndefined();
  });
});

describe('a reject while background analysis runs', () => {
  // The canary pauses for an approval with background analysis measuring beside it.
  const loaded = load({
    sim: cluster(),
    stages: [
      stage('web', {
        router,
        strategy: {
          type: 'canary',
          abortScaleDownDelay: '0s',
          analysis: { metrics: [candidateErrors({ interval: '10s' })] },
          steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }],
        },
      }),
    ],
  });

  it('ends: the rollback runs and the background analysis stops, without a single measurement after the reject', async () => {
    const { outcome, store } = await run(loaded);
    expect(outcome.status).toBe('paused');
    const resumed = await resume(loaded, store, { decision: { approve: false, by: 'carol', comment: 'not today' } });
    expect(resumed.outcome.status).toBe('rolled-back');
    expect(ofKind(resumed.events, 'analysis.measured')).toEqual([]);
    expect(resumed.kinds.at(-1)).toBe('run.finished');
  });
});

describe('nodes crash mid-canary', () => {
  // Two of five nodes go down while the canary waits at 20%: the stable version loses units.
  const crash = [{ kind: 'node-crash', node: 'node-4', at: '2m' }, { kind: 'node-crash', node: 'node-5', at: '2m' }];
  const loaded = load({
    sim: cluster(crash),
    stages: [stage('web', { router, strategy: { type: 'canary', abortScaleDownDelay: '0s', steps: [{ setWeight: 20 }, { pause: { duration: '10m' } }, { setWeight: 100 }] } })],
  });

  it('is seen at once as units lost, and the canary is rolled back instead of promoted', async () => {
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    const lost = first(events, 'decision.made', (e) => e.decision === 'units lost');
    expect(lost.reason).toMatch(/^stable version: 2 of 5 unit\(s\) that were ready are not any more: 2 of 5 replicas are on crashed nodes \(node-4, node-5\); the rollout stops if this lasts 2 samples$/);
    const abort = first(events, 'decision.made', (e) => e.decision === 'abort');
    expect(abort.reason).toBe('health check failed: stable version: 2 of 5 unit(s) lost (2 samples in a row)');
    expect(ofKind(events, 'step.started').map((e) => e.step)).not.toContain('promote');
  });
});

describe('blue-green after nodes crashed', () => {
  it('places green on the nodes that are up, so it becomes ready and takes the traffic', async () => {
    const loaded = load({
      sim: { nodes: 5, capacityPerNode: 4, services: { web: { version: 'v1', replicas: 3 } }, failures: [{ kind: 'node-crash', node: 'node-2' }] },
      stages: [stage('web', { router, strategy: { type: 'blue-green', scaleDownDelay: '0s' } })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(first(events, 'step.succeeded', (e) => e.step === 'verify-green').message).toBe('new version healthy (3/3 ready)');
  });
});

describe('background analysis with a count', () => {
  it('measures count times, then stops deciding: the canary goes on and promotes', async () => {
    const loaded = load({
      sim: cluster(),
      stages: [
        stage('web', {
          router,
          strategy: {
            type: 'canary',
            analysis: { metrics: [candidateErrors({ interval: '10s', count: 2 })] },
            steps: [{ setWeight: 10 }, { pause: { duration: '2m' } }, { setWeight: 50 }, { pause: { duration: '2m' } }],
          },
        }),
      ],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(ofKind(events, 'analysis.measured')).toHaveLength(2);
  });

  it('measures the service the stage deploys, not one named after the stage', async () => {
    const loaded = load({
      sim: { nodes: 4, services: { 'web-svc': { version: 'v1' } } },
      stages: [
        {
          name: 'release',
          environment: 'production',
          target: { type: 'sim', service: 'web-svc' },
          router,
          strategy: { type: 'canary', analysis: { metrics: [candidateErrors({ count: 1 })] }, steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }] },
        },
      ],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(first(events, 'analysis.measured')).toMatchObject({ verdict: 'succeeded', value: expect.any(Number) });
    expect(savedService(outcome.journal, 'web-svc')).toMatchObject({ version: 'v2' });
  });
});
