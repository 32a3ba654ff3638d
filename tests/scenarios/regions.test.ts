import { describe, expect, it } from 'vitest';
import { candidateErrors, first, load, ofKind, run, savedService, stageStatuses, trail } from './support.js';

/*
 * Two regions deployed in parallel, one failing: what state is each left in? The executor is
 * fail-fast: a failure starts nothing new, a stage already running finishes on its own (and rolls
 * back on its own failure), and a stage paused at a gate is rolled back rather than left half-way.
 * Either way no region is left mid-rollout: each ends on one version.
 */

// The sim router splits the traffic of the stage's name by default: name the service.
const router = { type: 'sim', service: 'web' };
const region = (failures: unknown[] = []) => ({ sim: { nodes: 4, services: { web: { version: 'v1' } }, failures } });
/** v2 is subtly bad in us only (the same version behaves differently there: its traffic differs). */
const environments = { eu: region(), us: region([{ kind: 'bad-version', version: 'v2', errorRate: 0.04 }]) };
// Metrics too measure the service named like the stage unless the query names one.
const strict = candidateErrors({ query: 'candidate-error-rate:web', successCondition: 'result < 0.01' });

function regionStage(name: string, environment: string, steps: unknown[]) {
  return { name, environment, target: { type: 'sim', service: 'web' }, router, strategy: { type: 'canary', abortScaleDownDelay: '0s', steps } };
}

describe('inconsistent state across regions', () => {
  it('a region still running when the other fails finishes its own rollout; the run reports both', async () => {
    const loaded = load({
      environments,
      stages: [
        regionStage('web-eu', 'eu', [{ setWeight: 20 }, { analysis: { metrics: [strict] } }, { pause: { duration: '2m' } }, { setWeight: 100 }]),
        regionStage('web-us', 'us', [{ setWeight: 20 }, { analysis: { metrics: [strict] } }, { pause: { duration: '2m' } }, { setWeight: 100 }]),
      ],
    });
    const { outcome, events } = await run(loaded);
    // Both started together, before either finished.
    const kinds = events.map((e) => e.kind);
    expect(kinds.slice(0, kinds.indexOf('stage.finished')).filter((k) => k === 'stage.started')).toHaveLength(2);
    expect(stageStatuses(outcome.journal)).toEqual({ 'web-eu': 'succeeded', 'web-us': 'rolled-back' });
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(ofKind(events, 'stage.finished').map((e) => `${e.stage}:${e.status}`)).toEqual(['web-us:rolled-back', 'web-eu:succeeded']);
    // Each region runs one version, fully: eu on v2, us back on v1, no candidate or split left.
    expect(savedService(outcome.journal, 'web', 'eu')).toMatchObject({ version: 'v2', replicas: 4, route: 'none' });
    expect(savedService(outcome.journal, 'web', 'us')).toMatchObject({ version: 'v1', replicas: 4, route: 'none' });
    expect(savedService(outcome.journal, 'web', 'eu')?.candidate).toBeUndefined();
    expect(savedService(outcome.journal, 'web', 'us')?.candidate).toBeUndefined();
    expect(first(events, 'run.finished').message).toBe('web-eu: succeeded, web-us: rolled-back');
  });

  it('a region paused at a gate when the other fails is rolled back, not left at 20%', async () => {
    const loaded = load({
      environments,
      stages: [
        // eu waits for a person at 20%…
        regionStage('web-eu', 'eu', [{ setWeight: 20 }, { approval: { message: 'check eu dashboards' } }, { setWeight: 100 }]),
        // …while us finds out a minute later that v2 is bad.
        regionStage('web-us', 'us', [{ setWeight: 20 }, { analysis: { metrics: [{ ...strict, initialDelay: '1m' }] } }]),
      ],
    });
    const { outcome, events } = await run(loaded);
    expect(stageStatuses(outcome.journal)).toEqual({ 'web-eu': 'rolled-back', 'web-us': 'rolled-back' });
    // The failure is not hidden behind "paused" (exit 3): the run failed.
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(
      events
        .filter((e) => ['run.paused', 'rollback.started', 'stage.finished'].includes(e.kind))
        .map((e) => `${e.kind}:${'stage' in e ? e.stage : ''}${e.kind === 'stage.finished' ? `:${e.status}` : ''}`),
    ).toEqual(['run.paused:web-eu', 'rollback.started:web-us', 'stage.finished:web-us:rolled-back', 'rollback.started:web-eu', 'stage.finished:web-eu:rolled-back']);
    const euRollback = first(events, 'rollback.started', (e) => e.stage === 'web-eu');
    expect(euRollback.reason).toBe('stage web-us ended rolled-back, so this paused stage is not continued');
    expect(outcome.journal.stages['web-eu']?.pausedAt).toBeUndefined();
    expect(savedService(outcome.journal, 'web', 'eu')).toMatchObject({ version: 'v1', route: 'none' });
    expect(savedService(outcome.journal, 'web', 'us')).toMatchObject({ version: 'v1', route: 'none' });
    expect(trail(events.filter((e) => 'stage' in e && e.stage === 'web-eu'), ['weight.changed'])).toEqual(['weight.changed:0->20']);
  });

  it('a region that needs the failed one is not started at all', async () => {
    const loaded = load({
      environments,
      stages: [
        regionStage('web-us', 'us', [{ setWeight: 20 }, { analysis: { metrics: [strict] } }]),
        { ...regionStage('web-eu', 'eu', [{ setWeight: 20 }]), needs: ['web-us'] },
      ],
    });
    const { outcome, events } = await run(loaded);
    expect(stageStatuses(outcome.journal)).toEqual({ 'web-us': 'rolled-back', 'web-eu': 'skipped' });
    expect(outcome.journal.stages['web-eu']).toMatchObject({ blockedBy: 'web-us', message: 'needs web-us, which ended rolled-back' });
    expect(ofKind(events, 'infra.changed').filter((e) => e.stage === 'web-eu')).toEqual([]);
    expect(savedService(outcome.journal, 'web', 'eu')).toBeUndefined(); // eu's world was never touched, so never saved
  });
});

describe('a region waiting at its approval gate when another fails', () => {
  it('is closed as skipped, never left paused: nothing had changed there', async () => {
    const loaded = load({
      environments,
      stages: [
        { ...regionStage('web-eu', 'eu', [{ setWeight: 20 }]), approval: { type: 'manual' } },
        regionStage('web-us', 'us', [{ setWeight: 20 }, { analysis: { metrics: [strict] } }]),
      ],
    });
    const { outcome } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.journal.stages['web-eu']).toMatchObject({
      status: 'skipped',
      blockedBy: 'web-us',
      message: 'stage web-us ended rolled-back, so this paused stage is not continued',
    });
  });
});
