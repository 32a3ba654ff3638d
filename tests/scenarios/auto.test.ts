import { describe, expect, it } from 'vitest';
import { first, load, ofKind, run, savedService, stage, trail } from './support.js';

/*
 * `auto` picks the strategy when the stage starts, from a probe snapshot: blue-green when the
 * cluster has room for a second full copy of the service, canary otherwise. The decision event
 * carries the condition and the probe values behind it.
 */

const strategy = {
  type: 'auto',
  rules: [{ when: 'probes.capacity.value >= 5.0', use: { type: 'blue-green', scaleDownDelay: '1m' } }],
  otherwise: { type: 'canary', steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }, { setWeight: 60 }] },
};
const probes = { capacity: { type: 'sim', measure: 'free-capacity' } };
const workflow = (capacityPerNode: number) =>
  load({
    // web runs 5 replicas of 1 unit; batch takes 3 more units.
    sim: { nodes: 5, capacityPerNode, services: { web: { version: 'v1' }, batch: { version: 'b1', replicas: 3 } } },
    probes,
    stages: [stage('web', { router: { type: 'sim' }, strategy })],
  });

describe('auto chooses the strategy from the infrastructure', () => {
  it('chooses blue-green when the free capacity covers a second copy', async () => {
    const { outcome, events } = await run(workflow(4)); // 20 units, 8 used: 12 free
    expect(outcome.status).toBe('succeeded');
    const decision = first(events, 'decision.made');
    expect(decision).toMatchObject({
      decision: 'strategy blue-green',
      reason: 'probes.capacity.value >= 5.0 holds',
      evidence: { condition: 'probes.capacity.value >= 5.0', probes: { capacity: { ok: true, value: 12 } } },
    });
    expect(trail(events, ['step.succeeded'])).toEqual([
      'step.succeeded:choose-strategy',
      'step.succeeded:deploy-green',
      'step.succeeded:verify-green',
      'step.succeeded:switch',
      'step.succeeded:scale-down-delay',
      'step.succeeded:remove-blue',
    ]);
    expect(outcome.journal.stages.web?.chosen).toMatchObject({ type: 'blue-green' });
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v2', replicas: 5 });
  });

  it('falls back to canary when the cluster is too full for blue-green', async () => {
    const { outcome, events } = await run(workflow(2)); // 10 units, 8 used: 2 free
    expect(outcome.status).toBe('succeeded');
    const decision = first(events, 'decision.made');
    expect(decision).toMatchObject({
      decision: 'strategy canary',
      reason: 'no rule holds (probes.capacity.value >= 5.0), so the fallback',
      evidence: { condition: 'probes.capacity.value >= 5.0', probes: { capacity: { ok: true, value: 2 } } },
    });
    expect(ofKind(events, 'weight.changed').map((e) => e.to)).toEqual([20, 60]);
    expect(trail(events, ['step.succeeded']).at(-1)).toBe('step.succeeded:promote');
    expect(outcome.journal.stages.web?.chosen).toMatchObject({ type: 'canary' });
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v2', replicas: 5 });
  });

  it('rolls back the chosen strategy like any other (a bad version under auto/blue-green)', async () => {
    const loaded = load({
      sim: { nodes: 5, services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2', errorRate: 0.3 }] },
      probes,
      stages: [stage('web', { router: { type: 'sim' }, strategy })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(first(events, 'decision.made').decision).toBe('strategy blue-green');
    // Green's readiness fails before the switch: traffic never moved.
    expect(first(events, 'step.failed').step).toBe('verify-green');
    expect(ofKind(events, 'weight.changed')).toEqual([]);
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1' });
    expect(savedService(outcome.journal)?.candidate).toBeUndefined();
  });
});
