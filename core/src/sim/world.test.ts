import { describe, expect, it } from 'vitest';
import { JournalError, ProviderError, WorkflowConfigError } from '../errors.js';
import { simConfig } from './harness.js';
import { createVirtualClock } from './virtual-clock.js';
import { createSimWorld, DEFAULT_PROFILE, REQUESTS_PER_REPLICA, simConfigIssues } from './world.js';

type Input = Parameters<typeof simConfig>[0];

function world(input: Input = {}, start = 0) {
  const clock = createVirtualClock(start);
  return { clock, world: createSimWorld(simConfig(input), clock) };
}

function thrown(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}

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

  it('replaces the version and the replicas, keeping the old version as stable', () => {
    const { world: w } = world({ services: { web: { version: 'v1' } } });
    const t = w.deploy('web', 'v2', 3);
    expect(t.changes).toEqual([
      { object: 'service/web', field: 'version', before: 'v1', after: 'v2' },
      { object: 'service/web', field: 'replicas', before: 5, after: 3 },
    ]);
    expect(w.service('web')).toMatchObject({ version: 'v2', replicas: 3, stable: 'v1', route: 'none' });
    expect(w.capacity().used).toBe(3);
    // Scaling alone keeps the version's readiness time.
    const scaled = w.deploy('web', 'v2', 4);
    expect(scaled.changes).toEqual([{ object: 'service/web', field: 'replicas', before: 3, after: 4 }]);
    expect(scaled.waitMs).toBe(10_000);
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
    w.setWeight('web', 20);
    clock.advance(10_000);
    const back = w.revert('web', { version: 'v1', replicas: 5 });
    expect(back).toEqual({ changes: [{ object: 'service/web', field: 'version', before: 'v2', after: 'v1' }], waitMs: 10_000 });
    expect(w.service('web')).toMatchObject({ version: 'v1', route: 'none', weight: 0, stable: undefined });
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
});

describe('traffic routes', () => {
  function canary() {
    const h = world({ services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2' }] });
    h.world.deploy('web', 'v2');
    h.clock.advance(10_000);
    return h;
  }

  it('sends everything to the new version when no router is involved', () => {
    const { world: w } = canary();
    expect(w.traffic('web')).toEqual([{ version: 'v2', share: 1 }]);
    expect(w.weight('web')).toBe(0);
  });

  it('splits by weight, records changes, and ignores a repeated weight', () => {
    const { world: w } = canary();
    expect(w.setWeight('web', 10)).toEqual([{ object: 'route/web', field: 'weight', before: null, after: 10 }]);
    expect(w.traffic('web')).toEqual([
      { version: 'v1', share: 0.9 },
      { version: 'v2', share: 0.1 },
    ]);
    expect(w.setWeight('web', 10)).toEqual([]);
    expect(w.setWeight('web', 0)).toEqual([{ object: 'route/web', field: 'weight', before: 10, after: 0 }]);
    expect(w.traffic('web')).toEqual([{ version: 'v1', share: 1 }]);
    w.setWeight('web', 100);
    expect(w.traffic('web')).toEqual([{ version: 'v2', share: 1 }]);
    expect(w.weight('web')).toBe(100);
  });

  it('rejects weights out of range and routes for services with nothing deployed', () => {
    const { world: w } = canary();
    expect(() => w.setWeight('web', 101)).toThrow('sim: canary weight for web must be between 0 and 100, got 101');
    expect(() => w.setWeight('web', Number.NaN)).toThrow(ProviderError);
    expect(() => w.setWeight('api', 10)).toThrow('sim: cannot route traffic of api: nothing is deployed (deploy it first)');
    expect(w.weight('api')).toBe(0);
    expect(w.traffic('api')).toEqual([]);
  });

  it('finalize below 100 % sends everything back to stable; a new deploy then rolls out fully', () => {
    const { world: w } = canary();
    w.setWeight('web', 30);
    expect(w.finalize('web')).toEqual([{ object: 'route/web', field: 'weight', before: 30, after: 0 }]);
    expect(w.service('web')).toMatchObject({ route: 'stable', weight: 0, stable: 'v1', version: 'v2' });
    expect(w.traffic('web')).toEqual([{ version: 'v1', share: 1 }]);
    expect(w.weight('web')).toBe(0);
    expect(w.finalize('web')).toEqual([]); // idempotent
    // Re-opening the split from the pinned route reports 0 as before.
    expect(w.setWeight('web', 5)).toEqual([{ object: 'route/web', field: 'weight', before: 0, after: 5 }]);
    w.finalize('web');
    w.deploy('web', 'v3');
    expect(w.service('web')).toMatchObject({ route: 'none', stable: 'v1', version: 'v3' });
    expect(w.traffic('web')).toEqual([{ version: 'v3', share: 1 }]);
  });

  it('finalize at 0 % changes no weight', () => {
    const { world: w } = canary();
    w.setWeight('web', 0);
    expect(w.finalize('web')).toEqual([]);
    expect(w.service('web')?.route).toBe('stable');
  });

  it('finalize at 100 % promotes the new version to stable', () => {
    const { world: w } = canary();
    w.setWeight('web', 100);
    expect(w.finalize('web')).toEqual([
      { object: 'route/web', field: 'weight', before: 100, after: null },
      { object: 'route/web', field: 'stable', before: 'v1', after: 'v2' },
    ]);
    expect(w.service('web')).toMatchObject({ route: 'none', stable: undefined, weight: 0 });
    expect(w.traffic('web')).toEqual([{ version: 'v2', share: 1 }]);
    expect(w.finalize('web')).toEqual([]);
    expect(w.finalize('api')).toEqual([]);
  });

  it('finalize at 100 % on a first deploy has no stable version to replace', () => {
    const { world: w } = world();
    w.deploy('web', 'v1');
    w.setWeight('web', 100);
    expect(w.finalize('web')).toEqual([{ object: 'route/web', field: 'weight', before: 100, after: null }]);
  });

  it('a deploy during an open split replaces the canary and keeps the stable version', () => {
    const { world: w } = canary();
    w.setWeight('web', 20);
    w.deploy('web', 'v3');
    expect(w.service('web')).toMatchObject({ version: 'v3', stable: 'v1', route: 'split', weight: 20 });
    w.setWeight('web', 100);
    w.deploy('web', 'v4');
    expect(w.service('web')).toMatchObject({ version: 'v4', stable: 'v3' });
  });

  it('a route prepared at 0 % before the deploy keeps the new version dark', () => {
    const { world: w } = world({ services: { web: { version: 'v1' } } });
    w.setWeight('web', 0);
    w.deploy('web', 'v2');
    expect(w.traffic('web')).toEqual([{ version: 'v1', share: 1 }]);
  });

  it('deploying the stable version back sends it everything', () => {
    const { world: w } = canary();
    w.setWeight('web', 50);
    w.deploy('web', 'v1');
    expect(w.traffic('web')).toEqual([{ version: 'v1', share: 1 }]);
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
    const a = world({ seed: 7, services: { web: { version: 'v1' } }, versions: { v2: { errorRate: 0.1, latencyMs: 500 } } });
    const b = world({ seed: 7, services: { web: { version: 'v1' } }, versions: { v2: { errorRate: 0.1, latencyMs: 500 } } });
    for (const { world: w } of [a, b]) {
      w.deploy('web', 'v2');
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
    expect(a.world.requestRate('web')).toBeCloseTo(REQUESTS_PER_REPLICA * 5, -1);
    // Other seeds and other seconds give other (still close) readings.
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

describe('injected failures', () => {
  it('crashes nodes at their time: the last nodes by default, or from a named node, wrapping', () => {
    const { world: w, clock } = world({
      nodes: 5,
      failures: [
        { kind: 'node-crash', count: 2 },
        { kind: 'node-crash', node: 'node-4', count: 3, at: '1m' },
      ],
    });
    expect(w.nodes().down).toEqual(['node-4', 'node-5']);
    clock.advance(59_999);
    expect(w.nodes().ready).toBe(3);
    clock.advance(1);
    expect(w.nodes()).toEqual({ total: 5, ready: 2, down: ['node-4', 'node-5', 'node-1'] });
  });

  it('takes the database down at its time', () => {
    const { world: w, clock } = world({ failures: [{ kind: 'database-down', at: '30s' }] });
    expect(w.database().up).toBe(true);
    clock.advance(30_000);
    expect(w.database()).toEqual({ up: false, schemaVersion: 1 });
  });

  it('fails the next calls of an operation with api errors, all retryable', () => {
    const { world: w, clock } = world({
      failures: [
        { kind: 'api-errors', operation: 'deploy', count: 2, status: 429 },
        { kind: 'api-errors', operation: 'any', count: 1, status: 500, at: '1m' },
        { kind: 'api-errors', operation: 'metric', count: 1 },
      ],
    });
    const first = thrown(() => w.guard('deploy', 'web'));
    expect(first.message).toBe('sim: rate limited (429) on deploy of web; retry later');
    expect(first.retryable).toBe(true);
    expect(() => w.guard('deploy')).toThrow('sim: rate limited (429) on deploy; retry later');
    expect(() => w.guard('deploy')).not.toThrow();
    expect(() => w.guard('health')).not.toThrow();
    const unavailable = thrown(() => w.guard('metric', 'web'));
    expect(unavailable.message).toBe('sim: service unavailable (503) on metric of web; retry later');
    clock.advance(60_000);
    const internal = thrown(() => w.guard('health'));
    expect(internal.message).toBe('sim: internal server error (500) on health; retry later');
    expect(internal.retryable).toBe(true);
    expect(() => w.guard('health')).not.toThrow();
    expect(w.toJSON().failures).toEqual([{ left: 0 }, { left: 0 }, { left: 0 }]);
  });

  it('makes every operation fail during a partition, then heals', () => {
    const { world: w, clock } = world({ failures: [{ kind: 'partition', at: '10s', duration: '30s' }] });
    expect(() => w.guard('deploy')).not.toThrow();
    clock.advance(10_000);
    const err = thrown(() => w.guard('set-weight', 'web'));
    expect(err.message).toBe('sim: control plane unreachable (network partition) during set-weight of web; it heals 30s from now, retry then');
    expect(err.retryable).toBe(true);
    clock.advance(29_999);
    expect(() => w.guard('probe')).toThrow('network partition');
    clock.advance(1);
    expect(() => w.guard('probe')).not.toThrow();
  });

  it('makes compensations fail a number of times, or always, without retries', () => {
    const { world: w } = world({
      failures: [
        { kind: 'compensation-fails', operation: 'revert', count: 1 },
        { kind: 'compensation-fails', operation: 'finalize' },
      ],
    });
    const err = thrown(() => w.guard('revert', 'web'));
    expect(err.message).toBe('sim: revert of web failed (injected compensation failure); undo it by hand');
    expect(err.retryable).toBe(false);
    expect(() => w.guard('revert', 'web')).not.toThrow();
    for (let i = 0; i < 3; i++) expect(() => w.guard('finalize')).toThrow('finalize failed');
    expect(() => w.guard('deploy')).not.toThrow();
    expect(w.toJSON().failures).toEqual([{ left: 0 }, { left: null }]);
  });

  it('"any" compensation failures hit both revert and finalize', () => {
    const { world: w } = world({ failures: [{ kind: 'compensation-fails', count: 2 }] });
    expect(() => w.guard('finalize')).toThrow(ProviderError);
    expect(() => w.guard('revert')).toThrow(ProviderError);
    expect(() => w.guard('revert')).not.toThrow();
  });

  it('slows probes: all of them, or those named', () => {
    const { world: w } = world({
      failures: [
        { kind: 'slow-probe', probe: 'capacity', delay: '10s' },
        { kind: 'slow-probe', probe: 'db', delay: '3s' },
      ],
    });
    expect(w.probeDelay('capacity', 'free-capacity')).toBe(10_000);
    expect(w.probeDelay('other', undefined)).toBe(0);
    const all = world({ failures: [{ kind: 'slow-probe', delay: '2s' }] });
    expect(all.world.probeDelay('anything')).toBe(2000);
  });
});

describe('toJSON and restore', () => {
  it('restores services, routes, nodes, database, counters and time in a new process', () => {
    const config = simConfig({
      services: { web: { version: 'v1' } },
      failures: [
        { kind: 'api-errors', operation: 'deploy', count: 3 },
        { kind: 'node-crash', at: '5m' },
        { kind: 'database-down', at: '1m' },
      ],
    });
    const clock1 = createVirtualClock(Date.UTC(2026, 0, 1));
    const w1 = createSimWorld(config, clock1);
    expect(() => w1.guard('deploy')).toThrow(ProviderError);
    w1.deploy('web', 'v2');
    w1.setWeight('web', 25);
    w1.crashNodes(['node-1']);
    clock1.advance(90_000);
    w1.setDatabase({ schemaVersion: 3 });
    const saved = JSON.parse(JSON.stringify(w1.toJSON())) as unknown;
    expect(saved).toMatchObject({
      format: 'rollgate/sim-world@1',
      elapsedMs: 90_000,
      nodes: 5,
      down: [1],
      database: { up: false, schemaVersion: 3 },
      failures: [{ left: 2 }, {}, { fired: true }],
    });

    // A new process whose virtual clock restarts earlier than the save continues at the saved time.
    const clock2 = createVirtualClock(Date.UTC(2026, 0, 1));
    const w2 = createSimWorld(config, clock2, saved);
    expect(w2.elapsed()).toBe(90_000);
    expect(w2.service('web')).toEqual(w1.service('web'));
    expect(w2.traffic('web')).toEqual(w1.traffic('web'));
    expect(w2.database()).toEqual({ up: false, schemaVersion: 3 });
    expect(w2.nodes().down).toEqual(['node-1']);
    expect(() => w2.guard('deploy')).toThrow(ProviderError);
    expect(() => w2.guard('deploy')).toThrow(ProviderError);
    expect(() => w2.guard('deploy')).not.toThrow();
    // The node crash still happens at 5 minutes of world time.
    clock2.advance(210_000 - 1);
    expect(w2.nodes().ready).toBe(4);
    clock2.advance(1);
    expect(w2.nodes().down).toEqual(['node-1', 'node-5']);
    // The configured services are not seeded again over the saved ones.
    expect(w2.serviceNames()).toEqual(['web']);
  });

  it('counts the time the clock moved since the save (a real clock between CI jobs)', () => {
    const config = simConfig({});
    const w1 = createSimWorld(config, createVirtualClock(1_000_000));
    const saved = w1.toJSON();
    const w2 = createSimWorld(config, createVirtualClock(1_000_000 + 3_600_000), saved);
    expect(w2.elapsed()).toBe(3_600_000);
  });

  it('restores a service removed from the config and keeps counters of failures added since', () => {
    const w1 = createSimWorld(simConfig({ services: { web: { version: 'v1' } } }), createVirtualClock());
    w1.revert('web', undefined);
    const config = simConfig({ services: { web: { version: 'v1' } }, failures: [{ kind: 'api-errors', count: 1 }] });
    const w2 = createSimWorld(config, createVirtualClock(), w1.toJSON());
    expect(w2.service('web')).toBeUndefined();
    expect(() => w2.guard('current')).toThrow(ProviderError);
    expect(createSimWorld(config, createVirtualClock(), null).service('web')?.version).toBe('v1');
  });

  it('refuses saved state it cannot use', () => {
    const config = simConfig({});
    const clock = createVirtualClock();
    expect(() => createSimWorld(config, clock, { format: 'other' })).toThrow(JournalError);
    expect(() => createSimWorld(config, clock, 'garbage')).toThrow(/the saved simulation state is unreadable/);
    const saved = createSimWorld(simConfig({ nodes: 3 }), clock).toJSON();
    expect(() => createSimWorld(config, clock, saved)).toThrow('the saved simulation has 3 nodes but the workflow now declares 5; start a new run');
    const tampered = { ...createSimWorld(config, clock).toJSON(), down: [2, 9] };
    expect(createSimWorld(config, clock, tampered).nodes().down).toEqual(['node-2']);
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

describe('performance', () => {
  it('handles a 10,000-node fleet with many crashed nodes cheaply', () => {
    const { world: w } = world({
      nodes: 10_000,
      services: { web: { version: 'v1' }, api: { version: 'a1', replicas: 7_777 } },
      failures: [{ kind: 'node-crash', count: 2_000 }],
    });
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) {
      w.guard('metric', 'web');
      w.errorRate('web');
      w.health('api');
      w.capacity();
    }
    expect(w.health('api').ready).toBe(7_777);
    expect(w.readyReplicas('web')).toBe(8_000);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('creates 1,000 worlds quickly', () => {
    const config = simConfig({ nodes: 1000, services: { web: { version: 'v1' } } });
    const clock = createVirtualClock();
    const started = performance.now();
    const worlds = Array.from({ length: 1000 }, () => createSimWorld(config, clock));
    for (const w of worlds) w.deploy('web', 'v2');
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
