import { describe, expect, it } from 'vitest';
import { first, load, ofKind, run, stage, trail } from './support.js';

/*
 * Problems detected before anything changes: pre-flight checks read probes once, before the first
 * change, and a check that does not hold fails the stage with no infra.changed event at all.
 */

const router = { type: 'sim' };

describe('resource exhaustion: no room for the new version', () => {
  // 3 nodes × 2 units = 6; web v1 takes 3 and batch 2, so 1 unit is free. Blue-green needs a full
  // second copy of web (3 units).
  const full = {
    nodes: 3,
    capacityPerNode: 2,
    services: { web: { version: 'v1' }, batch: { version: 'b7', replicas: 2 } },
  };

  it('fails before anything changes when a pre-flight check on free capacity does not hold', async () => {
    const loaded = load({
      sim: full,
      probes: { capacity: { type: 'sim', measure: 'free-capacity' } },
      stages: [
        stage('web', {
          router,
          strategy: { type: 'blue-green' },
          preflight: [{ check: 'probes.capacity.value >= 3.0', message: 'blue-green needs room for a second copy of web (3 units)' }],
        }),
      ],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('failed');
    expect(outcome.exitCode).toBe(1);
    expect(ofKind(events, 'infra.changed')).toEqual([]);
    expect(ofKind(events, 'rollback.started')).toEqual([]);
    expect(trail(events, ['probes.measured', 'decision.made', 'stage.started', 'step.started', 'stage.finished'])).toEqual([
      'probes.measured',
      'decision.made:pre-flight failed',
      'stage.finished:failed',
    ]);
    const decision = first(events, 'decision.made');
    expect(decision).toMatchObject({
      reason: 'probes.capacity.value >= 3.0 is false: blue-green needs room for a second copy of web (3 units)',
      evidence: { condition: 'probes.capacity.value >= 3.0', probes: { capacity: { ok: true, value: 1, details: { total: 6, used: 5 } } } },
    });
    expect(outcome.journal.stages.web?.message).toBe(
      'pre-flight check failed: probes.capacity.value >= 3.0 (blue-green needs room for a second copy of web (3 units)); nothing was changed',
    );
    expect(outcome.journal.stages.web?.compensations).toEqual([]);
  });

  it('without the pre-flight check, the candidate deploy is refused by the cluster and nothing changes either', async () => {
    const loaded = load({ sim: full, stages: [stage('web', { router, strategy: { type: 'blue-green' } })] });
    const { outcome, events } = await run(loaded);
    // The undo (remove the candidate) was recorded before the refused call, so it runs, as a no-op.
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.exitCode).toBe(1);
    expect(ofKind(events, 'infra.changed')).toEqual([]);
    expect(first(events, 'step.failed')).toMatchObject({
      step: 'deploy-green',
      error: 'sim: not enough capacity for web v2 beside v1: needs 3 units, 1 free; add nodes, lower the candidate replicas or free capacity',
    });
  });
});

describe('a database schema incompatible with the new version', () => {
  it('fails the pre-flight check on the schema version, nothing changed', async () => {
    const loaded = load({
      sim: { nodes: 4, services: { web: { version: 'v1' } }, database: { schemaVersion: 1 } },
      probes: { schema: { type: 'sim', measure: 'schema-version' } },
      stages: [
        stage('web', {
          router,
          strategy: { type: 'canary', steps: [{ setWeight: 20 }] },
          preflight: [{ check: 'probes.schema.ok && probes.schema.value >= 2.0', message: 'v2 needs schema 2: run the migration first' }],
        }),
      ],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('failed');
    expect(outcome.exitCode).toBe(1);
    expect(ofKind(events, 'infra.changed')).toEqual([]);
    expect(ofKind(events, 'stage.started')).toEqual([]);
    expect(first(events, 'decision.made')).toMatchObject({
      decision: 'pre-flight failed',
      evidence: { probes: { schema: { ok: true, value: 1 } } },
    });
    expect(outcome.journal.stages.web?.message).toMatch(/^pre-flight check failed: .*\(v2 needs schema 2: run the migration first\); nothing was changed$/);
  });

  it('passes once the schema has been migrated', async () => {
    const loaded = load({
      sim: { nodes: 4, services: { web: { version: 'v1' } }, database: { schemaVersion: 2 } },
      probes: { schema: { type: 'sim', measure: 'schema-version' } },
      stages: [stage('web', { router, strategy: { type: 'canary', steps: [{ setWeight: 20 }] }, preflight: [{ check: 'probes.schema.ok && probes.schema.value >= 2.0' }] })],
    });
    const { outcome, events } = await run(loaded);
    expect(outcome.status).toBe('succeeded');
    expect(first(events, 'decision.made').decision).toBe('pre-flight passed');
  });
});
