import { describe, expect, it } from 'vitest';
import { testWorld } from '../testing/sim.js';
import { ProviderError } from '../errors.js';

const world = testWorld;

describe('fleet units', () => {
  it('are the nodes in order, each running the service where its replicas reach', () => {
    const { world: w } = world({ nodes: 4, services: { web: { version: 'v1' }, few: { version: 'f1', replicas: 2 } } });
    expect(w.units()).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    expect(w.unitVersion('web', 'node-4')).toBe('v1');
    expect(w.unitVersion('few', 'node-2')).toBe('f1');
    expect(w.unitVersion('few', 'node-3')).toBeUndefined();
    expect(w.unitVersion('api', 'node-1')).toBeUndefined();
    expect(() => w.unitVersion('web', 'node-5')).toThrow('sim: node-5 is not a unit of web: its units are the nodes node-1..node-4');
    expect(() => w.setUnit('web', 'db-1', 'v2')).toThrow(ProviderError);
    expect(() => w.unitHealth('web', 'node-0')).toThrow(ProviderError);
  });

  it('deploys one unit, waiting for its startup; idempotent', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } }, versions: { v2: { startup: '20s' } } });
    expect(w.setUnit('web', 'node-3', 'v2')).toEqual({ changes: [{ object: 'node/node-3', field: 'version', before: 'v1', after: 'v2' }], waitMs: 20_000 });
    expect(w.unitVersion('web', 'node-3')).toBe('v2');
    expect(w.unitHealth('web', 'node-3')).toEqual({ healthy: false, ready: 0, total: 1, message: 'starting: v2 on node-3 is ready in 20s' });
    clock.advance(5000);
    expect(w.setUnit('web', 'node-3', 'v2')).toEqual({ changes: [], waitMs: 15_000 });
    clock.advance(15_000);
    expect(w.setUnit('web', 'node-3', 'v2')).toEqual({ changes: [], waitMs: 0 });
    expect(w.unitHealth('web', 'node-3')).toEqual({ healthy: true, ready: 1, total: 1, message: 'v2 is ready on node-3' });
    expect(w.unitHealth('web', 'node-1')).toEqual({ healthy: true, ready: 1, total: 1, message: 'v1 is ready on node-1' });
    // The service's own version stays the stable one until every unit runs v2.
    expect(w.service('web')?.version).toBe('v1');
  });

  it('reports a bad version, a crashed node and a unit with nothing on it', () => {
    const { world: w, clock } = world({ nodes: 8, services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v3', errorRate: 0.4 }, { kind: 'node-crash', node: 'node-7', at: '1m' }] });
    w.setUnit('web', 'node-2', 'v3');
    w.setUnit('web', 'node-7', 'v2');
    clock.advance(10_000);
    expect(w.unitHealth('web', 'node-2')).toEqual({ healthy: false, ready: 1, total: 1, message: 'readiness failing: 40% of requests fail' });
    expect(w.unitHealth('web', 'node-7').healthy).toBe(true);
    clock.advance(50_000);
    expect(w.unitHealth('web', 'node-7')).toEqual({ healthy: false, ready: 0, total: 1, message: 'node-7 is down' });
    expect(w.setUnit('web', 'node-5', null)).toEqual({ changes: [{ object: 'node/node-5', field: 'version', before: 'v1', after: null }], waitMs: 0 });
    expect(w.setUnit('web', 'node-5', null)).toEqual({ changes: [], waitMs: 0 });
    expect(w.unitHealth('web', 'node-5')).toEqual({ healthy: false, ready: 0, total: 0, message: 'nothing of web runs on node-5' });
  });

  it('keeps only the differing units: putting the service’s version back removes the entry', () => {
    const { world: w } = world({ services: { web: { version: 'v1' } } });
    w.setUnit('web', 'node-1', 'v2');
    w.setUnit('web', 'node-2', 'v2');
    expect(w.toJSON().fleets).toEqual({ web: [[1, 'v2', 10_000], [2, 'v2', 10_000]] });
    expect(w.setUnit('web', 'node-1', 'v1')).toEqual({ changes: [{ object: 'node/node-1', field: 'version', before: 'v2', after: 'v1' }], waitMs: 10_000 });
    w.setUnit('web', 'node-2', 'v1');
    expect(w.toJSON().fleets).toEqual({});
    expect(w.health('web')).toEqual({ healthy: true, ready: 5, total: 5, message: 'v1 is ready' });
  });
});

describe('a fleet mid-rollout, as a service', () => {
  it('measures the mean over the ready nodes, and says which nodes are starting or down', () => {
    const { world: w, clock } = world({ nodes: 10, services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2', errorRate: 0.3 }] });
    for (const unit of ['node-1', 'node-2']) w.setUnit('web', unit, 'v2');
    expect(w.health('web')).toEqual({ healthy: false, ready: 8, total: 10, message: 'starting on 2 of 10 nodes' });
    expect(w.traffic('web')).toEqual([{ version: 'v1', share: 1, role: 'stable' }]);
    clock.advance(10_000);
    const expected = 0.2 * 0.3 + 0.8 * 0.001;
    expect(w.errorRate('web') as number).toBeGreaterThan(expected * 0.975);
    expect(w.errorRate('web') as number).toBeLessThan(expected * 1.025);
    expect(w.health('web')).toEqual({ healthy: false, ready: 10, total: 10, message: 'readiness failing: 6.1% of requests fail (mean over nodes)' });
    w.setUnit('web', 'node-1', 'v3');
    clock.advance(10_000);
    w.crashNodes(['node-1', 'node-10']);
    expect(w.traffic('web').map((s) => [s.version, Number(s.share.toFixed(3))])).toEqual([
      ['v2', 0.125],
      ['v1', 0.875],
    ]);
    expect(w.readyReplicas('web')).toBe(8);
    expect(w.requestRate('web')).toBeCloseTo(80, -1);
    expect(w.health('web').message).toBe('2 of 10 nodes are down (node-1, node-10)');
    w.recoverNodes(['node-1', 'node-10']);
    expect(w.health('web')).toEqual({ healthy: true, ready: 10, total: 10, message: 'ready: v3 on 1 node, v2 on 1 node, v1 on 8 nodes' });
  });

  it('counts the nodes a smaller service reaches, and the warm ones of a scale-up', () => {
    const { world: w, clock } = world({ nodes: 6, services: { web: { version: 'v1', replicas: 3 } } });
    w.setUnit('web', 'node-5', 'v2');
    w.setUnit('web', 'node-2', null);
    clock.advance(10_000);
    expect(w.health('web')).toMatchObject({ ready: 3, total: 3 });
    w.deploy('web', 'v1', 5); // drops the per-unit versions
    w.setUnit('web', 'node-6', 'v2');
    // v1 scales from 3 to 5 replicas: nodes 1-3 serve while 4-5 start; node-6 starts v2.
    expect(w.health('web')).toEqual({ healthy: false, ready: 3, total: 6, message: 'starting on 3 of 6 nodes' });
    w.crashNodes(['node-2', 'node-4']);
    expect(w.health('web')).toMatchObject({ ready: 2, total: 6 });
    expect(w.unitHealth('web', 'node-1').healthy).toBe(true);
    expect(w.unitHealth('web', 'node-5').message).toBe('starting: v1 on node-5 is ready in 10s');
  });

  it('reports a fleet where nothing runs any more, and removes the service once no node has it', () => {
    const { world: w } = world({ nodes: 3, services: { web: { version: 'v1', replicas: 2 }, api: { version: 'a1' } } });
    w.setUnit('web', 'node-1', null);
    w.setUnit('web', 'node-2', null);
    expect(w.health('web')).toEqual({ healthy: false, ready: 0, total: 0, message: 'nothing of web runs on any node' });
    expect(w.errorRate('web')).toBeUndefined();
    expect(w.service('web')).toBeDefined();
    for (const unit of w.units()) w.setUnit('api', unit, null);
    expect(w.service('api')).toBeUndefined();
    expect(w.toJSON().fleets).toEqual({ web: [[1, null, 0], [2, null, 0]] });
  });

  it('folds a finished rollout back into the service once every node is ready', () => {
    const { world: w, clock } = world({ nodes: 3, services: { web: { version: 'v1' } } });
    for (const unit of w.units()) w.setUnit('web', unit, 'v2');
    expect(w.service('web')?.version).toBe('v1');
    clock.advance(10_000);
    expect(w.service('web')).toEqual({ name: 'web', version: 'v2', replicas: 3, readyAt: 10_000, route: 'none', weight: 0 });
    expect(w.toJSON().fleets).toEqual({});
    // A first deploy unit by unit creates the service.
    for (const unit of w.units()) w.setUnit('api', unit, 'a1');
    expect(w.service('api')).toBeUndefined();
    expect(w.readyReplicas('api')).toBe(0);
    clock.advance(10_000);
    expect(w.service('api')).toMatchObject({ version: 'a1', replicas: 3 });
  });
});

describe('fleet performance', () => {
  it('changes 10,000 units one by one cheaply and folds them back', () => {
    const { world: w, clock } = world({ nodes: 10_000, services: { web: { version: 'v1' } }, failures: [{ kind: 'node-crash', count: 3 }] });
    const units = w.units();
    let changes = 0;
    for (const unit of units) {
      changes += w.setUnit('web', unit, 'v2').changes.length;
      // A rollout checks each unit as it goes.
      w.unitHealth('web', unit);
    }
    expect(changes).toBe(10_000);
    expect(w.unitVersion('web', 'node-10000')).toBe('v2');
    clock.advance(10_000);
    expect(w.health('web')).toMatchObject({ ready: 9_997, total: 10_000 });
    expect(w.service('web')?.version).toBe('v2');
    expect(w.toJSON().fleets).toEqual({});
  });
});
