import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../core/src/clocks/virtual.js';
import { at, changeLine, changes, first, load, ofKind, resume, run, savedService, stage, T0, trail } from './support.js';

/*
 * The control plane misbehaving: API errors and rate limits (retried with backoff, within the
 * stage's retry budget), and a network partition during a traffic switch.
 */

const router = { type: 'sim' };
const cluster = (failures: unknown[]) => ({ nodes: 4, services: { web: { version: 'v1' } }, failures });
const canary = { type: 'canary', abortScaleDownDelay: '30s', steps: [{ setWeight: 10 }, { pause: { duration: '1m' } }, { setWeight: 50 }] };

describe('provider API errors and rate limits', () => {
  it('retries a rate-limited traffic switch and succeeds when the errors stop within the retry budget', async () => {
    const loaded = load({ sim: cluster([{ kind: 'api-errors', operation: 'set-weight', status: 429, count: 2 }]), stages: [stage('web', { router, strategy: canary })] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
    const retries = ofKind(events, 'step.retrying');
    expect(retries.map((e) => [e.step, e.attempt])).toEqual([
      ['weight-10@1', 2],
      ['weight-10@1', 3],
    ]);
    expect(retries[0]?.error).toBe('sim: rate limited (429) on set-weight of web; retry later');
    // Exponential backoff with jitter: the second delay is drawn from a range twice as large.
    expect(retries[0]?.delayMs).toBeGreaterThanOrEqual(500);
    expect(retries[0]?.delayMs).toBeLessThanOrEqual(1000);
    expect(retries[1]?.delayMs).toBeGreaterThanOrEqual(1000);
    expect(retries[1]?.delayMs).toBeLessThanOrEqual(2000);
    expect(trail(events, ['step.started', 'step.succeeded']).filter((l) => l.includes('weight-10@1'))).toEqual([
      'step.started:weight-10@1',
      'step.started:weight-10@1',
      'step.started:weight-10@1',
      'step.succeeded:weight-10@1',
    ]);
    expect(outcome.journal.stages.web?.steps.find((s) => s.id === 'weight-10@1')).toMatchObject({ status: 'succeeded', attempts: 3 });
    // The weight was changed once, by the attempt that got through.
    expect(ofKind(events, 'weight.changed').map((e) => [e.from, e.to])).toEqual([
      [0, 10],
      [10, 50],
    ]);
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v2' });
  });

  it('fails cleanly when the errors outlast the retry budget: the step fails after its attempts and the stage rolls back', async () => {
    // Four 503s: the three attempts of the step, then the first attempt of the undo (retried too).
    const loaded = load({ sim: cluster([{ kind: 'api-errors', operation: 'set-weight', status: 503, count: 4 }]), stages: [stage('web', { router, strategy: canary })] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(trail(events, ['step.retrying', 'step.failed', 'rollback.started', 'rollback.step', 'rollback.finished', 'stage.finished'])).toEqual([
      'step.retrying',
      'step.retrying',
      'step.failed:weight-10@1',
      'rollback.started',
      'step.retrying', // the undo's own retry
      'rollback.step:ok',
      'rollback.step:ok',
      'rollback.finished:complete',
      'stage.finished:rolled-back',
    ]);
    expect(first(events, 'step.failed')).toMatchObject({ error: 'sim: service unavailable (503) on set-weight of web; retry later', errorKind: 'ProviderError' });
    expect(outcome.journal.stages.web?.steps.find((s) => s.id === 'weight-10@1')).toMatchObject({ status: 'failed', attempts: 3 });
    // No traffic ever reached v2, and the candidate is gone.
    expect(ofKind(events, 'weight.changed')).toEqual([]);
    expect(changes(events).some((c) => c.object === 'route/web' && typeof c.after === 'number' && c.after > 0)).toBe(false);
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1', replicas: 4, route: 'none' });
    expect(savedService(outcome.journal)?.candidate).toBeUndefined();
  });

  it('does not retry past the budget of attempts set on the stage', async () => {
    const loaded = load({
      sim: cluster([{ kind: 'api-errors', operation: 'deploy-candidate', status: 500, count: 10 }]),
      stages: [stage('web', { router, strategy: canary, retry: { attempts: 5, initialDelay: '2s', maxDelay: '4s' } })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(ofKind(events, 'step.retrying').map((e) => e.attempt)).toEqual([2, 3, 4, 5]);
    // maxDelay caps the backoff: 2 s, then 4 s, 4 s, 4 s (each half fixed, half random).
    for (const e of ofKind(events, 'step.retrying').slice(1)) expect(e.delayMs).toBeLessThanOrEqual(4_000);
    expect(outcome.journal.stages.web?.steps[0]).toMatchObject({ id: 'deploy-canary', status: 'failed', attempts: 5 });
    expect(ofKind(events, 'infra.changed')).toEqual([]);
  });
});

describe('a network partition during a traffic switch', () => {
  // The partition starts when the canary goes from 10% to 50% (after the 1-minute pause) and lasts
  // 2 minutes: longer than the step's retries, and longer than the rollback's.
  const loaded = load({ sim: cluster([{ kind: 'partition', at: '70s', duration: '2m' }]), stages: [stage('web', { router, strategy: canary })] });

  it('fails the switch after its retries, cannot reach the control plane to undo either, and says so (exit 4)', async () => {
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('manual-intervention-required');
    expect(outcome.exitCode).toBe(4);
    expect(trail(events, ['weight.changed', 'step.failed', 'rollback.started', 'rollback.step', 'rollback.finished', 'manual-intervention.required', 'stage.finished'])).toEqual([
      'weight.changed:0->10',
      'step.failed:weight-50@3',
      'rollback.started',
      'rollback.step:failed',
      'rollback.step:failed',
      'rollback.finished:incomplete',
      'manual-intervention.required',
      'stage.finished:manual-intervention-required',
    ]);
    const failed = first(events, 'step.failed');
    expect(at(failed)).toBeGreaterThanOrEqual(70_000);
    expect(failed.error).toMatch(/^sim: control plane unreachable \(network partition\) during set-weight of web; it heals \d+s from now, retry then$/);
    const manual = first(events, 'manual-intervention.required');
    expect(manual.remaining).toEqual([
      expect.stringMatching(/^send all traffic of web back to the stable version: sim: control plane unreachable \(network partition\)/),
      expect.stringMatching(/^send all traffic back to v1 and remove v2 from web: sim: control plane unreachable \(network partition\)/),
    ]);
    expect(manual.instructions).toEqual([
      'send all traffic of stage web (environment production) to the stable version (canary weight 0)',
      'remove v2 from stage web (environment production) and send all traffic to the stable version',
      'then run: rollgate resume --state memory (retries what is left), or fix it by hand',
    ]);
    // Nothing changed during the partition: 10% still goes to v2 until someone acts.
    expect(changes(events).map(changeLine).at(-1)).toBe('route/web.weight: null -> 10');
  });

  it('rolls back with resume once the partition has healed', async () => {
    const { store, outcome } = await run(loaded);
    const savedClock = outcome.journal.clock?.virtualNow as number;
    // The next CI job runs after the partition healed (190 s on the run clock).
    const later = createVirtualClock(Math.max(savedClock, T0 + 200_000));
    const resumed = await resume(loaded, store, { clock: later });
    expect(resumed.outcome.status).toBe('rolled-back');
    expect(resumed.outcome.exitCode).toBe(1);
    expect(first(resumed.events, 'rollback.started').reason).toBe('retrying the rollback that was left incomplete');
    expect(trail(resumed.events, ['rollback.step', 'rollback.finished', 'stage.finished'])).toEqual([
      'rollback.step:ok',
      'rollback.step:ok',
      'rollback.finished:complete',
      'stage.finished:rolled-back',
    ]);
    expect(changes(resumed.events).map(changeLine)).toEqual(['route/web.weight: 10 -> 0', 'service/web.candidate: v2 -> null', 'route/web.weight: 0 -> null']);
    expect(savedService(resumed.outcome.journal)).toMatchObject({ version: 'v1', route: 'none' });
  });
});
