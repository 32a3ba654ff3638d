import { describe, expect, it } from 'vitest';
import { at, changeLine, changes, first, load, run, savedService, stage, trail } from './support.js';

/*
 * Blue-green on the simulated infrastructure: health checks failing after the switch send traffic
 * back to blue at once (blue is still running through scaleDownDelay).
 */

const router = { type: 'sim' };

describe('health checks failing after a blue-green switch', () => {
  // v2 fails 4% of its requests: its readiness passes (the limit is 5%), so it is switched to,
  // and the post-promotion analysis over all traffic catches it.
  const loaded = load({
    sim: { nodes: 4, services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2', errorRate: 0.04 }] },
    stages: [
      stage('web', {
        router,
        strategy: {
          type: 'blue-green',
          scaleDownDelay: '2m',
          postPromotionAnalysis: {
            metrics: [{ name: 'errors', query: 'error-rate', successCondition: 'result < 0.01', interval: '10s', count: 3, initialDelay: '10s' }],
          },
        },
      }),
    ],
  });

  it('switches traffic back to blue and removes green', async () => {
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(
      trail(events, ['step.succeeded', 'weight.changed', 'analysis.measured', 'step.failed', 'rollback.started', 'rollback.finished', 'stage.finished']),
    ).toEqual([
      'step.succeeded:deploy-green',
      'step.succeeded:verify-green',
      'weight.changed:0->100',
      'step.succeeded:switch',
      'analysis.measured:failed',
      'step.failed:post-promotion-analysis',
      'rollback.started',
      'rollback.finished:complete',
      'stage.finished:rolled-back',
    ]);
    const lines = changes(events).map(changeLine);
    expect(lines).toEqual([
      'service/web.candidate: null -> v2',
      'service/web.candidate-replicas: 0 -> 4',
      'route/web.weight: null -> 100',
      'route/web.weight: 100 -> 0', // the switch back
      'service/web.candidate: v2 -> null',
      'route/web.weight: 0 -> null',
    ]);
    // Blue never stopped: the switch back is immediate, and green goes at once (no delay for blue-green).
    const started = first(events, 'rollback.started');
    const back = first(events, 'infra.changed', (e) => e.change.after === 0);
    const gone = first(events, 'infra.changed', (e) => e.change.field === 'candidate' && e.change.after === null);
    expect(at(back)).toBe(at(started));
    expect(at(gone)).toBe(at(started));
    expect(started.reason).toMatch(/^analysis failed: errors: 1 failed measurement\(s\), limit 0/);
    // Blue kept its replicas the whole time and takes all traffic again.
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1', replicas: 4, route: 'none' });
    expect(savedService(outcome.journal)?.candidate).toBeUndefined();
  });

  it('detects within one sample interval after the initial delay', async () => {
    const { events } = await run(loaded);
    const switched = first(events, 'step.succeeded', (e) => e.step === 'switch');
    const failing = first(events, 'analysis.measured', (e) => e.verdict === 'failed');
    expect(at(failing) - at(switched)).toBe(10_000); // initialDelay
    expect(at(first(events, 'rollback.started'))).toBe(at(failing));
  });

  it('promotes a healthy green and removes blue after scaleDownDelay', async () => {
    const healthy = load({
      sim: { nodes: 4, services: { web: { version: 'v1' } } },
      stages: [stage('web', { router, strategy: { type: 'blue-green', scaleDownDelay: '2m' } })],
    });
    const { outcome, events } = await run(healthy);
    expect(outcome.status).toBe('succeeded');
    const switched = first(events, 'step.succeeded', (e) => e.step === 'switch');
    const promoted = first(events, 'infra.changed', (e) => e.change.field === 'version');
    expect(promoted.change).toEqual({ object: 'service/web', field: 'version', before: 'v1', after: 'v2' });
    expect(at(promoted) - at(switched)).toBe(120_000);
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v2', replicas: 4, route: 'none' });
  });
});

describe('checks on green before the switch', () => {
  // The sim measures a dark candidate on its preview route, as Argo Rollouts runs pre-promotion
  // analysis against the preview service.
  it('fails a bad green in prePromotionAnalysis before it takes any traffic', async () => {
    const loaded = load({
      sim: { nodes: 4, services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2', errorRate: 0.03 }] },
      stages: [
        stage('web', {
          router,
          strategy: {
            type: 'blue-green',
            prePromotionAnalysis: { metrics: [{ name: 'green-errors', query: 'candidate-error-rate', successCondition: 'result < 0.01' }] },
          },
        }),
      ],
    });
    const { outcome, events } = await run(loaded);
    expect(first(events, 'analysis.measured').verdict).toBe('failed');
    expect(outcome.status).toBe('rolled-back');
    expect(changes(events).map(changeLine)).not.toContain('route/web.weight: null -> 100');
  });
});
