import { describe, expect, it } from 'vitest';
import { at, changes, first, load, ofKind, run, savedService, stage, trail } from './support.js';

/*
 * A progressive rollout over a 20-node fleet: nodes crash during wave 2, more units fail than the
 * failure budget allows, and the rollback reverts the units that were changed, and only them.
 */

const fleet = (failures: unknown[]) => ({ nodes: 20, services: { web: { version: 'v1' } }, failures });
const progressive = { type: 'progressive', waves: [2, 10], maxParallel: 2, maxUnavailable: 2, failureBudget: 1 };

/** The world's per-node versions as the journal saved them: node number → version, for the nodes that differ from the service. */
function differingNodes(journal: Parameters<typeof savedService>[0]): Record<number, string | null> {
  const world = journal.providers?.['sim@production'] as { fleets?: Record<string, [number, string | null, number][]> } | undefined;
  return Object.fromEntries((world?.fleets?.web ?? []).map(([n, v]) => [n, v]));
}

describe('nodes crash mid-wave beyond the failure budget', () => {
  it('stops the rollout and reverts only the units that were changed', async () => {
    // Wave 1 brings node-1..2 to v2 (0–10 s); wave 2 goes on two at a time from node-3. At 25 s
    // node-5..7 crash: node-5 and node-6 (being deployed) fail their health check, over the budget of 1.
    const loaded = load({ sim: fleet([{ kind: 'node-crash', node: 'node-5', count: 3, at: '25s' }]), stages: [stage('web', { strategy: progressive })] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(trail(events, ['step.succeeded', 'step.failed', 'rollback.started', 'rollback.finished', 'stage.finished'])).toEqual([
      'step.succeeded:wave-1',
      'step.failed:wave-2',
      'rollback.started',
      'rollback.finished:complete',
      'stage.finished:rolled-back',
    ]);
    const failed = first(events, 'step.failed');
    expect(failed.error).toBe('failure budget exceeded: 2 unit(s) failed, budget 1: node-5: node-5 is down; node-6: node-6 is down');
    expect(failed.errorKind).toBe('AnalysisFailedError');

    const started = first(events, 'rollback.started');
    const forward = changes(events.filter((e) => e.seq < started.seq));
    const backward = changes(events.filter((e) => e.seq > started.seq));
    const upgraded = forward.filter((c) => c.after === 'v2').map((c) => c.object);
    expect(upgraded).toEqual(['node/node-1', 'node/node-2', 'node/node-3', 'node/node-4', 'node/node-5', 'node/node-6', 'node/node-7']);
    // Every changed unit is put back to v1, and nothing else is touched.
    expect(backward.every((c) => c.before === 'v2' && c.after === 'v1')).toBe(true);
    expect(backward.map((c) => c.object).sort()).toEqual([...upgraded].sort());
    const touched = new Set([...forward, ...backward].map((c) => c.object));
    for (let n = 8; n <= 20; n++) expect(touched.has(`node/node-${n}`)).toBe(false);

    // The fleet is back on one version.
    expect(differingNodes(outcome.journal)).toEqual({});
    expect(savedService(outcome.journal)).toMatchObject({ version: 'v1', replicas: 20 });
    // Undos are recorded per unit of the wave before it starts; the units never reached get a
    // revert that changes nothing.
    const undos = outcome.journal.stages.web?.compensations ?? [];
    expect(undos.every((c) => c.op === 'unit.revert' && c.status === 'done')).toBe(true);
    expect(undos.map((c) => c.params.unit)).toEqual(Array.from({ length: 10 }, (_, i) => `node-${i + 1}`));
  });

  it('goes on when the failures stay within the budget', async () => {
    const loaded = load({ sim: fleet([{ kind: 'node-crash', node: 'node-5', count: 1, at: '25s' }]), stages: [stage('web', { strategy: progressive })] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(first(events, 'step.succeeded', (e) => e.step === 'wave-2').message).toMatch(/; 1 failed within the budget of 1$/);
    expect(ofKind(events, 'rollback.started')).toEqual([]);
  });

  it('stops every wave worker when the budget is exceeded: nothing changes forward once the rollback started', async () => {
    const loaded = load({ sim: fleet([{ kind: 'node-crash', node: 'node-5', count: 2, at: '25s' }]), stages: [stage('web', { strategy: progressive })] });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('rolled-back');
    const started = first(events, 'rollback.started');
    const lateForward = ofKind(events, 'infra.changed').filter((e) => e.seq > started.seq && e.change.after === 'v2');
    expect(lateForward.map((e) => `${e.change.object} at ${at(e) / 1000}s`)).toEqual([]);
    expect(differingNodes(outcome.journal)).toEqual({});
  });
});
