import { describe, expect, it } from 'vitest';
import { testWorld, thrownProviderError } from '../testing/sim.js';
import { ProviderError, WorkflowConfigError } from '../errors.js';
import { simConfig } from '../testing/sim-harness.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { createSimWorld, DEFAULT_PROFILE, REQUESTS_PER_REPLICA, simConfigIssues } from './world.js';

const world = testWorld;

const thrown = thrownProviderError;

describe('createSimWorld: the cluster', () => {
  it('starts with the configured services, one replica per node by default', () => {
    const { world: w } = world({ services: { web: { version: 'v1' }, api: { version: 'a1', replicas: 2 } } });
    expect(w.serviceNames()).toEqual(['web', 'api']);
    expect(w.service('web')).toEqual({ name: 'web', version: 'v1', replicas: 5, readyAt: 0, route: 'none', weight: 0 });
    expect(w.service('api')?.replicas).toBe(2);
    expect(w.service('nope')).toBeUndefined();
    expect(w.capacity()).toEqual({ total: 20, used: 7, free: 13 });
    expect(w.nodes()).toEqual({ total: 5, ready: 5, down: [] });
    expect(w.database()).toEqual({ up: true, schemaVersion: 1 });
    expect(w.elapsed()).toBe(0);
    expect(w.config.nodes).toBe(5);
  });

  it('gives versions their profile, with defaults, and bad-version overrides', () => {
    const { world: w } = world({
      versions: { v2: { cpu: 2, startup: '30s', latencyMs: 120 } },
      failures: [{ kind: 'bad-version', version: 'v3', latencyMs: 900 }, { kind: 'bad-version', version: 'v2' }],
    });
    expect(w.profile('v1')).toEqual(DEFAULT_PROFILE);
    expect(w.profile('v2')).toEqual({ errorRate: 0.25, latencyMs: 120, cpu: 2, startupMs: 30_000 });
    expect(w.profile('v3')).toEqual({ errorRate: 0.25, latencyMs: 900, cpu: 1, startupMs: 10_000 });
    expect(w.profile('v3')).toBe(w.profile('v3')); // cached
  });

  it('rejects node-crash failures naming nodes that do not exist', () => {
    const config = simConfig({
      nodes: 3,
      failures: [
        { kind: 'node-crash', node: 'node-9' },
        { kind: 'node-crash', node: 'db-1' },
        { kind: 'node-crash', count: 4 },
        { kind: 'node-crash', node: 'node-3' },
        { kind: 'database-down' },
      ],
    });
    const issues = simConfigIssues(config, 'environments.prod.sim');
    expect(issues).toEqual([
      { path: 'environments.prod.sim.failures[0].node', message: 'node-9 is not a node of the simulation: it has 3 nodes (node-1..node-3)' },
      { path: 'environments.prod.sim.failures[1].node', message: 'db-1 is not a node of the simulation: it has 3 nodes (node-1..node-3)' },
      { path: 'environments.prod.sim.failures[2].count', message: 'cannot crash 4 nodes: the simulation has 3' },
    ]);
    expect(simConfigIssues(simConfig({ nodes: 1, failures: [{ kind: 'node-crash', node: 'node-2' }] }))[0]?.message).toContain('1 node (');
    expect(() => createSimWorld(config, createVirtualClock())).toThrow(WorkflowConfigError);
  });

  it('crashes and recovers nodes by name or number', () => {
    const { world: w } = world({ services: { web: { version: 'v1' } } });
    w.crashNodes(['node-2', 5, 5]);
    expect(w.nodes()).toEqual({ total: 5, ready: 3, down: ['node-2', 'node-5'] });
    expect(w.nodes(1).down).toEqual(['node-2']);
    expect(w.nodes(0).down).toEqual([]);
    expect(w.capacity()).toEqual({ total: 12, used: 3, free: 9 });
    w.recoverNodes(['node-2', 'node-1']);
    expect(w.nodes().ready).toBe(4);
    expect(w.capacity().used).toBe(4);
    expect(() => w.crashNodes(['node-6'])).toThrow('sim: node-6 is not a node (node-1..node-5)');
    expect(() => w.crashNodes([0])).toThrow(ProviderError);
    expect(() => w.recoverNodes([1.5])).toThrow(ProviderError);
  });

  it('places replicas round-robin from node-1', () => {
    const { world: w } = world({ nodes: 4, services: { few: { version: 'v1', replicas: 2 }, many: { version: 'v1', replicas: 10 } } });
    w.crashNodes(['node-4']);
    expect(w.readyReplicas('few')).toBe(2); // on node-1 and node-2
    expect(w.readyReplicas('many')).toBe(8); // node-4 hosts 2 of 10
    w.crashNodes(['node-1']);
    expect(w.readyReplicas('few')).toBe(1);
    expect(w.readyReplicas('many')).toBe(5); // node-1 hosts 3 of 10
    expect(w.readyReplicas('nope')).toBeUndefined();
  });

  it('sets the database by hand', () => {
    const { world: w } = world();
    w.setDatabase({ schemaVersion: 7 });
    expect(w.database()).toEqual({ up: true, schemaVersion: 7 });
    w.setDatabase({ up: false });
    expect(w.database()).toEqual({ up: false, schemaVersion: 7 });
  });
});

describe('deploy and revert', () => {
  it('deploys a new service, waiting for its startup', () => {
    const { world: w, clock } = world();
    const t = w.deploy('web', 'v1');
    expect(t).toEqual({ changes: [{ object: 'service/web', field: 'version', before: null, after: 'v1' }], waitMs: 10_000 });
    expect(w.service('web')).toMatchObject({ version: 'v1', replicas: 5, readyAt: 10_000 });
    expect(w.health('web')).toEqual({ healthy: false, ready: 0, total: 5, message: 'starting: v1 is ready in 10s' });
    expect(w.readyReplicas('web')).toBe(0);
    // Deploying again while it starts changes nothing but still waits for the rest.
    clock.advance(4000);
    expect(w.deploy('web', 'v1')).toEqual({ changes: [], waitMs: 6000 });
    clock.advance(6000);
    expect(w.deploy('web', 'v1')).toEqual({ changes: [], waitMs: 0 });
    expect(w.health('web')).toEqual({ healthy: true, ready: 5, total: 5, message: 'v1 is ready' });
  });

  it('replaces the version and the replicas; scaling up keeps the running replicas serving', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } } });
    const t = w.deploy('web', 'v2', 3);
    expect(t.changes).toEqual([
      { object: 'service/web', field: 'version', before: 'v1', after: 'v2' },
      { object: 'service/web', field: 'replicas', before: 5, after: 3 },
    ]);
    expect(w.service('web')).toEqual({ name: 'web', version: 'v2', replicas: 3, readyAt: 10_000, route: 'none', weight: 0 });
    expect(w.capacity().used).toBe(3);
    // Scaling alone keeps the version's readiness time.
    const scaled = w.deploy('web', 'v2', 4);
    expect(scaled.changes).toEqual([{ object: 'service/web', field: 'replicas', before: 3, after: 4 }]);
    expect(scaled.waitMs).toBe(10_000);
    clock.advance(10_000);
    // Once started, a scale-up leaves the 4 running replicas ready while the fifth starts.
    expect(w.deploy('web', 'v2', 5).waitMs).toBe(10_000);
    expect(w.health('web')).toEqual({ healthy: false, ready: 4, total: 5, message: 'scaling up: 4 of 5 replicas of v2 ready, the rest in 10s' });
    expect(w.readyReplicas('web')).toBe(4);
    // Scaling down during the scale-up keeps the ready ones.
    w.deploy('web', 'v2', 2);
    expect(w.readyReplicas('web')).toBe(2);
    clock.advance(10_000);
    expect(w.health('web')).toMatchObject({ healthy: true, ready: 2 });
  });

  it('refuses a deploy that does not fit, counting what the old replicas release', () => {
    const { world: w } = world({
      versions: { big: { cpu: 2 }, huge: { cpu: 5 } },
      services: { other: { version: 'o1', replicas: 12 }, web: { version: 'v1', replicas: 4 } },
    });
    // 20 units, 16 used: 4 free, plus 4 released by web's v1 replicas.
    expect(w.deploy('web', 'big').changes).toHaveLength(1);
    const err = thrown(() => w.deploy('web', 'huge', 5));
    expect(err.message).toBe(
      'sim: not enough capacity for web huge: needs 25 units, 8 free; add nodes, lower the replicas or free capacity',
    );
    expect(err.retryable).toBe(false);
    expect(w.service('web')?.version).toBe('big');
    // Now full (12 + 8 of 20); a first deploy has nothing to release.
    expect(() => w.deploy('api', 'huge', 1)).toThrow('needs 5 units, 0 free');
  });

  it('reports "0 free" rather than a negative number when overcommitted', () => {
    const { world: w } = world({ nodes: 2, capacityPerNode: 1, services: { web: { version: 'v1', replicas: 2 } } });
    w.revert('api', { version: 'a1', replicas: 4 }); // reverts are never refused
    expect(w.capacity().free).toBe(-4);
    expect(() => w.deploy('db', 'd1', 1)).toThrow('needs 1 units, 0 free');
  });

  it('reverts to the previous version, or removes a first deploy', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } } });
    w.deploy('web', 'v2');
    clock.advance(10_000);
    const back = w.revert('web', { version: 'v1', replicas: 5 });
    expect(back).toEqual({ changes: [{ object: 'service/web', field: 'version', before: 'v2', after: 'v1' }], waitMs: 10_000 });
    expect(w.service('web')).toMatchObject({ version: 'v1', route: 'none', weight: 0 });
    // Idempotent.
    expect(w.revert('web', { version: 'v1' })).toEqual({ changes: [], waitMs: 10_000 });
    clock.advance(10_000);
    expect(w.revert('web', { version: 'v1', replicas: 2 })).toEqual({
      changes: [{ object: 'service/web', field: 'replicas', before: 5, after: 2 }],
      waitMs: 0,
    });
    expect(w.revert('web', undefined)).toEqual({ changes: [{ object: 'service/web', field: 'version', before: 'v1', after: null }], waitMs: 0 });
    expect(w.service('web')).toBeUndefined();
    expect(w.revert('web', null)).toEqual({ changes: [], waitMs: 0 });
    // Putting back a version where nothing runs any more recreates the service.
    expect(w.revert('web', { version: 'v1' })).toEqual({
      changes: [{ object: 'service/web', field: 'version', before: null, after: 'v1' }],
      waitMs: 10_000,
    });
    expect(w.service('web')?.replicas).toBe(5);
  });

  it('deploy and revert end a candidate, its split and per-unit versions', () => {
    const { world: w } = world({ services: { web: { version: 'v1' } } });
    w.deployCandidate('web', 'v2', 1);
    w.setWeight('web', 20);
    w.setUnit('web', 'node-2', 'v9');
    expect(w.deploy('web', 'v3').changes).toEqual([
      { object: 'service/web', field: 'units-differing', before: 1, after: 0 },
      { object: 'service/web', field: 'candidate', before: 'v2', after: null },
      { object: 'route/web', field: 'weight', before: 20, after: null },
      { object: 'service/web', field: 'version', before: 'v1', after: 'v3' },
    ]);
    expect(w.service('web')).toEqual({ name: 'web', version: 'v3', replicas: 5, readyAt: 10_000, route: 'none', weight: 0 });
    // A deploy of the running version still ends a leftover candidate.
    w.deployCandidate('web', 'v4', 1);
    expect(w.deploy('web', 'v3').changes).toEqual([{ object: 'service/web', field: 'candidate', before: 'v4', after: null }]);
    w.deployCandidate('web', 'v4', 1);
    w.setWeight('web', 0);
    w.finalize('web');
    expect(w.revert('web', { version: 'v1' }).changes).toEqual([
      { object: 'service/web', field: 'candidate', before: 'v4', after: null },
      { object: 'service/web', field: 'version', before: 'v3', after: 'v1' },
    ]);
    w.deployCandidate('web', 'v4', 1);
    w.setUnit('web', 'node-1', 'v9');
    expect(w.revert('web', undefined).changes).toEqual([
      { object: 'service/web', field: 'units-differing', before: 1, after: 0 },
      { object: 'service/web', field: 'candidate', before: 'v4', after: null },
      { object: 'service/web', field: 'version', before: 'v1', after: null },
    ]);
    expect(w.unitVersion('web', 'node-1')).toBeUndefined();
  });
});

describe('health', () => {
  it('reports nothing deployed, scaled to zero, crashed replicas and failing readiness', () => {
    const { world: w } = world({
      nodes: 4,
      services: { web: { version: 'v1' }, zero: { version: 'v1', replicas: 0 }, bad: { version: 'v9', replicas: 2 } },
      failures: [{ kind: 'bad-version', version: 'v9' }],
    });
    expect(w.health('api')).toEqual({ healthy: false, ready: 0, total: 0, message: 'nothing is deployed for api' });
    expect(w.health('zero')).toEqual({ healthy: true, ready: 0, total: 0, message: 'v1 is scaled to zero' });
    expect(w.health('bad')).toEqual({ healthy: false, ready: 2, total: 2, message: 'readiness failing: 25% of requests fail' });
    w.crashNodes(['node-4', 'node-3', 'node-2', 'node-1']);
    w.recoverNodes(['node-1']);
    expect(w.health('web')).toEqual({ healthy: false, ready: 1, total: 4, message: '3 of 4 replicas are on crashed nodes (node-4, node-3, node-2)' });
    expect(w.health('bad').message).toBe('1 of 2 replicas are on crashed nodes (node-2, …); readiness failing: 25% of requests fail');
  });
});

describe('measurements', () => {
  it('measures the traffic mix with small, reproducible noise', () => {
    const input = { seed: 7, services: { web: { version: 'v1' } }, versions: { v2: { errorRate: 0.1, latencyMs: 500, startup: '0s' } } };
    const a = world(input);
    const b = world(input);
    for (const { world: w } of [a, b]) {
      w.deployCandidate('web', 'v2', 1);
      w.setWeight('web', 20);
    }
    const rate = a.world.errorRate('web') as number;
    const expected = 0.8 * 0.001 + 0.2 * 0.1;
    expect(rate).toBeGreaterThan(expected * 0.975);
    expect(rate).toBeLessThan(expected * 1.025);
    expect(b.world.errorRate('web')).toBe(rate);
    const p99 = a.world.latencyP99('web') as number;
    // A slow canary with 20 % of the requests lifts the p99 far above the weighted mean (164 ms).
    expect(p99).toBeGreaterThan(300);
    expect(p99).toBeLessThan(350);
    expect(a.world.requestRate('web')).toBeCloseTo(REQUESTS_PER_REPLICA * 6, -1);
    // Other seconds give other (still close) readings.
    a.clock.advance(1000);
    expect(a.world.errorRate('web')).not.toBe(rate);
  });

  it('has no data for a service with nothing deployed or every replica down', () => {
    const { world: w } = world({ nodes: 2, services: { web: { version: 'v1', replicas: 1 } } });
    expect(w.errorRate('api')).toBeUndefined();
    expect(w.latencyP99('api')).toBeUndefined();
    expect(w.requestRate('api')).toBeUndefined();
    w.crashNodes(['node-1']);
    expect(w.errorRate('web')).toBeUndefined();
    expect(w.readyReplicas('web')).toBe(0);
  });

  it('never reports an error rate above 1', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } }, versions: { v1: { errorRate: 1 } } });
    const samples = Array.from({ length: 20 }, () => {
      clock.advance(1000);
      return w.errorRate('web') as number;
    });
    expect(Math.max(...samples)).toBeLessThanOrEqual(1);
  });
});

describe('module surface', () => {
  // The world is implemented across several modules; callers import only from world.js.
  it('re-exports the helpers and constants of its modules', async () => {
    const mod = await import('./world.js');
    expect(Object.keys(mod).sort()).toEqual([
      'DEFAULT_PROFILE',
      'REQUESTS_PER_REPLICA',
      'SIM_STATE_FORMAT',
      'UNHEALTHY_ERROR_RATE',
      'createSimWorld',
      'mixtureP99',
      'nodeIndex',
      'noiseUnit',
      'percent',
      'simConfigIssues',
    ]);
  });
});

describe('large worlds (their speed is measured in bench/)', () => {
  it('answers for a 10,000-node fleet with 2,000 crashed nodes', () => {
    const { world: w } = world({
      nodes: 10_000,
      services: { web: { version: 'v1' }, api: { version: 'a1', replicas: 7_777 } },
      failures: [{ kind: 'node-crash', count: 2_000 }],
    });
    for (let i = 0; i < 20_000; i++) {
      w.guard('metric', 'web');
      w.errorRate('web');
      w.health('api');
      w.capacity();
    }
    expect(w.health('api').ready).toBe(7_777);
    expect(w.readyReplicas('web')).toBe(8_000);
  });

  it('creates 1,000 worlds of 1,000 nodes, each deploying on its own', () => {
    const config = simConfig({ nodes: 1000, services: { web: { version: 'v1' } } });
    const clock = createVirtualClock();
    const worlds = Array.from({ length: 1000 }, () => createSimWorld(config, clock));
    for (const w of worlds) w.deploy('web', 'v2');
    expect(worlds.every((w) => w.service('web')?.version === 'v2')).toBe(true);
  });
});
