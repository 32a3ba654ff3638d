import { describe, expect, it } from 'vitest';
import { testWorld, thrownProviderError } from '../testing/sim.js';

const world = testWorld;

const thrown = thrownProviderError;

describe('deployCandidate', () => {
  it('starts a candidate beside the stable version, which keeps its replicas', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } } });
    expect(w.fullScale('web')).toBe(5);
    expect(w.fullScale('api')).toBeUndefined();
    const t = w.deployCandidate('web', 'v2', 2);
    expect(t).toEqual({
      changes: [
        { object: 'service/web', field: 'candidate', before: null, after: 'v2' },
        { object: 'service/web', field: 'candidate-replicas', before: 0, after: 2 },
      ],
      waitMs: 10_000,
    });
    expect(w.service('web')).toMatchObject({ version: 'v1', replicas: 5, candidate: { version: 'v2', replicas: 2, readyAt: 10_000, fullScale: 5 } });
    expect(w.capacity().used).toBe(7);
    expect(w.candidateHealth('web')).toEqual({ healthy: false, ready: 0, total: 2, message: 'starting: v2 is ready in 10s' });
    expect(w.health('web')).toMatchObject({ healthy: true, ready: 5 });
    // Idempotent, while starting and once started.
    clock.advance(4000);
    expect(w.deployCandidate('web', 'v2', 2)).toEqual({ changes: [], waitMs: 6000 });
    clock.advance(6000);
    expect(w.deployCandidate('web', 'v2', 2)).toEqual({ changes: [], waitMs: 0 });
    expect(w.candidateHealth('web')).toEqual({ healthy: true, ready: 2, total: 2, message: 'v2 is ready' });
    expect(w.candidateReadyReplicas('web')).toBe(2);
  });

  it('rescales a candidate of the same version, keeping the running replicas ready', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } } });
    w.deployCandidate('web', 'v2', 1);
    clock.advance(10_000);
    expect(w.deployCandidate('web', 'v2', 3)).toEqual({
      changes: [{ object: 'service/web', field: 'candidate-replicas', before: 1, after: 3 }],
      waitMs: 10_000,
    });
    expect(w.candidateReadyReplicas('web')).toBe(1);
    expect(w.candidateHealth('web').message).toBe('scaling up: 1 of 3 replicas of v2 ready, the rest in 10s');
    expect(w.deployCandidate('web', 'v2', 2).changes).toEqual([{ object: 'service/web', field: 'candidate-replicas', before: 3, after: 2 }]);
  });

  it('replaces a candidate of another version, which starts from scratch', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } }, versions: { v3: { startup: '30s' } } });
    w.deployCandidate('web', 'v2', 2);
    w.scale('web', { stable: 3, candidate: 2 });
    clock.advance(10_000);
    expect(w.deployCandidate('web', 'v3', 2)).toEqual({ changes: [{ object: 'service/web', field: 'candidate', before: 'v2', after: 'v3' }], waitMs: 30_000 });
    // The full scale is still the stable count from before the first candidate.
    expect(w.fullScale('web')).toBe(5);
    expect(w.candidateReadyReplicas('web')).toBe(0);
  });

  it('refuses a full-scale candidate on a cluster without room beside the stable version', () => {
    const { world: w } = world({
      versions: { v1: { cpu: 2 }, v2: { cpu: 4 } },
      services: { web: { version: 'v1' }, other: { version: 'o1', replicas: 6 } },
    });
    // 20 units: web 5 × 2 + other 6 × 1 = 16 used.
    const err = thrown(() => w.deployCandidate('web', 'v2', 5));
    expect(err.message).toBe(
      'sim: not enough capacity for web v2 beside v1: needs 20 units, 4 free; add nodes, lower the candidate replicas or free capacity',
    );
    expect(err.retryable).toBe(false);
    expect(w.service('web')?.candidate).toBeUndefined();
    // One replica fits; replacing it counts what it releases.
    w.deployCandidate('web', 'v2', 1);
    expect(w.deployCandidate('web', 'v3', 4).changes[0]).toMatchObject({ field: 'candidate', before: 'v2', after: 'v3' });
    expect(() => w.deployCandidate('web', 'v3', 9)).toThrow('sim: not enough capacity to scale web to 5 stable and 9 candidate replicas: needs 5 more units, 0 free');
  });

  it('rejects replica counts that are not whole numbers of 0 or more', () => {
    const { world: w } = world({ services: { web: { version: 'v1' } } });
    expect(() => w.deployCandidate('web', 'v2', -1)).toThrow('sim: candidate replicas of web must be a whole number of 0 or more, got -1');
    expect(() => w.scale('web', { stable: 1.5, candidate: 0 })).toThrow('sim: stable replicas of web must be a whole number of 0 or more, got 1.5');
  });

  it('runs a first deploy’s candidate alone, promoted to its full scale or removed with the service', () => {
    const { world: w, clock } = world({ nodes: 4 });
    expect(w.deployCandidate('web', 'v1', 1, 3).changes).toHaveLength(2);
    expect(w.service('web')).toMatchObject({ version: null, replicas: 0, candidate: { version: 'v1', replicas: 1, fullScale: 3 } });
    expect(w.fullScale('web')).toBe(3);
    expect(w.health('web')).toEqual({ healthy: false, ready: 0, total: 0, message: 'web has no stable version yet: only a candidate runs' });
    clock.advance(10_000);
    // With no stable replica, the candidate serves everything whatever the router says.
    w.setWeight('web', 10);
    expect(w.traffic('web')).toEqual([{ version: 'v1', share: 1, role: 'candidate' }]);
    // The stable side has nothing to scale.
    expect(w.scale('web', { stable: 2, candidate: 2 }).changes).toEqual([{ object: 'service/web', field: 'candidate-replicas', before: 1, after: 2 }]);
    expect(w.removeCandidate('web').changes).toEqual([
      { object: 'service/web', field: 'candidate', before: 'v1', after: null },
      { object: 'route/web', field: 'weight', before: 10, after: null },
    ]);
    expect(w.service('web')).toBeUndefined();
    w.deployCandidate('web', 'v1', 1);
    expect(w.fullScale('web')).toBe(4);
    expect(w.promote('web').changes).toEqual([
      { object: 'service/web', field: 'version', before: null, after: 'v1' },
      { object: 'service/web', field: 'replicas', before: 0, after: 4 },
      { object: 'service/web', field: 'candidate', before: 'v1', after: null },
    ]);
    expect(w.service('web')).toMatchObject({ version: 'v1', replicas: 4 });
  });

  it('refuses a first deploy’s candidate without room, and a revert removes one that started', () => {
    const { world: w } = world({ nodes: 2, capacityPerNode: 1 });
    expect(() => w.deployCandidate('web', 'v1', 3)).toThrow('sim: not enough capacity for web v1 beside nothing: needs 3 units, 2 free');
    w.deployCandidate('web', 'v1', 2);
    expect(w.revert('web', undefined).changes).toEqual([{ object: 'service/web', field: 'candidate', before: 'v1', after: null }]);
    expect(w.service('web')).toBeUndefined();
  });
});

describe('scale', () => {
  it('sets both counts; what one side releases counts for the other', () => {
    const { world: w, clock } = world({ nodes: 2, capacityPerNode: 3, services: { web: { version: 'v1', replicas: 5 } } });
    w.deployCandidate('web', 'v2', 1);
    clock.advance(10_000);
    // 6 units, all used: moving replicas from stable to candidate fits, growing does not.
    expect(w.scale('web', { stable: 3, candidate: 3 })).toEqual({
      changes: [
        { object: 'service/web', field: 'replicas', before: 5, after: 3 },
        { object: 'service/web', field: 'candidate-replicas', before: 1, after: 3 },
      ],
      waitMs: 10_000,
    });
    expect(() => w.scale('web', { stable: 4, candidate: 3 })).toThrow(
      'sim: not enough capacity to scale web to 4 stable and 3 candidate replicas: needs 1 more units, 0 free; add nodes or free capacity',
    );
    expect(w.scale('web', { stable: 3, candidate: 3 })).toEqual({ changes: [], waitMs: 10_000 });
    expect(w.fullScale('web')).toBe(5);
  });

  it('never refuses shrinking, even when overcommitted', () => {
    const { world: w } = world({ nodes: 1, capacityPerNode: 1, services: { web: { version: 'v1', replicas: 3 } } });
    w.revert('api', { version: 'a1', replicas: 4 });
    expect(w.capacity().free).toBeLessThan(0);
    expect(w.scale('web', { stable: 1, candidate: 0 }).changes).toEqual([{ object: 'service/web', field: 'replicas', before: 3, after: 1 }]);
  });

  it('needs something deployed, and a candidate to give replicas to', () => {
    const { world: w } = world({ services: { web: { version: 'v1' } } });
    expect(() => w.scale('api', { stable: 1, candidate: 0 })).toThrow('sim: cannot scale api: nothing is deployed (deploy it first)');
    expect(() => w.scale('web', { stable: 4, candidate: 1 })).toThrow(
      'sim: cannot scale the candidate of web to 1: no candidate is running (deploy one first)',
    );
    expect(w.scale('web', { stable: 4, candidate: 0 }).changes).toHaveLength(1);
  });
});

describe('promote and removeCandidate', () => {
  it('promotes the candidate to stable at full scale; its running replicas keep serving', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } } });
    w.deployCandidate('web', 'v2', 2);
    w.scale('web', { stable: 3, candidate: 2 });
    w.setWeight('web', 40);
    clock.advance(10_000);
    expect(w.promote('web')).toEqual({
      changes: [
        { object: 'service/web', field: 'version', before: 'v1', after: 'v2' },
        { object: 'service/web', field: 'replicas', before: 3, after: 5 },
        { object: 'service/web', field: 'candidate', before: 'v2', after: null },
        { object: 'route/web', field: 'weight', before: 40, after: null },
      ],
      waitMs: 10_000,
    });
    expect(w.service('web')).toEqual({ name: 'web', version: 'v2', replicas: 5, readyAt: 20_000, warm: 2, route: 'none', weight: 0 });
    expect(w.traffic('web')).toEqual([{ version: 'v2', share: 1, role: 'stable' }]);
    expect(w.readyReplicas('web')).toBe(2);
    // Idempotent.
    expect(w.promote('web')).toEqual({ changes: [], waitMs: 10_000 });
    expect(w.promote('api')).toEqual({ changes: [], waitMs: 0 });
  });

  it('promotes a full-scale candidate (blue-green) with no wait, and shrinks a bigger one', () => {
    const { world: w, clock } = world({ nodes: 10, services: { web: { version: 'blue', replicas: 4 } } });
    w.deployCandidate('web', 'green', 4);
    clock.advance(10_000);
    w.setWeight('web', 100);
    expect(w.traffic('web')).toEqual([{ version: 'green', share: 1, role: 'candidate' }]);
    expect(w.promote('web').waitMs).toBe(0);
    expect(w.service('web')).toEqual({ name: 'web', version: 'green', replicas: 4, readyAt: 10_000, route: 'none', weight: 0 });
    w.deployCandidate('web', 'v3', 6);
    expect(w.promote('web').changes).toContainEqual({ object: 'service/web', field: 'version', before: 'green', after: 'v3' });
    expect(w.service('web')).toMatchObject({ replicas: 4, readyAt: 20_000 });
  });

  it('promoting drops per-unit versions; promoting without a candidate drops a leftover split', () => {
    const { world: w } = world({ services: { web: { version: 'v1' } } });
    w.setUnit('web', 'node-1', 'v0');
    w.deployCandidate('web', 'v1', 1);
    expect(w.promote('web').changes).toEqual([
      { object: 'service/web', field: 'units-differing', before: 1, after: 0 },
      { object: 'service/web', field: 'candidate', before: 'v1', after: null },
    ]);
    w.setWeight('web', 5);
    expect(w.promote('web').changes).toEqual([{ object: 'route/web', field: 'weight', before: 5, after: null }]);
  });

  it('removes the candidate and the split, and gives the stable version its replicas back; idempotent', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } } });
    w.deployCandidate('web', 'v2', 2);
    w.scale('web', { stable: 3, candidate: 2 });
    w.setWeight('web', 40);
    clock.advance(10_000);
    expect(w.removeCandidate('web')).toEqual({
      changes: [
        { object: 'service/web', field: 'candidate', before: 'v2', after: null },
        { object: 'route/web', field: 'weight', before: 40, after: null },
        { object: 'service/web', field: 'replicas', before: 3, after: 5 },
      ],
      waitMs: 10_000,
    });
    expect(w.readyReplicas('web')).toBe(3);
    expect(w.traffic('web')).toEqual([{ version: 'v1', share: 1, role: 'stable' }]);
    expect(w.removeCandidate('web')).toEqual({ changes: [], waitMs: 10_000 });
    clock.advance(10_000);
    expect(w.removeCandidate('web')).toEqual({ changes: [], waitMs: 0 });
    expect(w.removeCandidate('api')).toEqual({ changes: [], waitMs: 0 });
    // `warm` only matters before readyAt.
    expect(w.service('web')).toMatchObject({ name: 'web', version: 'v1', replicas: 5, readyAt: 20_000, route: 'none', weight: 0 });
    expect(w.health('web')).toMatchObject({ healthy: true, ready: 5 });
  });
});

describe('candidate health', () => {
  it('reports no candidate, failing readiness and replicas on crashed nodes', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2' }] });
    expect(w.candidateHealth('web')).toEqual({ healthy: false, ready: 0, total: 0, message: 'no candidate of web is running' });
    expect(w.candidateReadyReplicas('web')).toBeUndefined();
    w.deployCandidate('web', 'v2', 2);
    clock.advance(10_000);
    expect(w.candidateHealth('web')).toEqual({ healthy: false, ready: 2, total: 2, message: 'readiness failing: 25% of requests fail' });
    w.deployCandidate('web', 'v3', 2);
    clock.advance(10_000);
    w.crashNodes(['node-2']);
    expect(w.candidateHealth('web')).toEqual({ healthy: false, ready: 1, total: 2, message: '1 of 2 replicas are on crashed nodes (node-2)' });
    expect(w.health('web')).toMatchObject({ healthy: false, ready: 4, total: 5 });
  });
});
