import { describe, expect, it } from 'vitest';
import { testWorld } from '../testing/sim.js';
import { ProviderError } from '../errors.js';

const world = testWorld;

/** web: v1 on 5 replicas, and a started candidate v2 (a bad version) with `replicas`. */
function canary(replicas = 1) {
  const h = world({ services: { web: { version: 'v1' } }, failures: [{ kind: 'bad-version', version: 'v2', latencyMs: 800 }] });
  h.world.deployCandidate('web', 'v2', replicas);
  h.clock.advance(10_000);
  return h;
}

const shares = (w: ReturnType<typeof world>['world']) => w.traffic('web').map((s) => `${s.role}:${s.version}:${Number(s.share.toFixed(3))}`);

describe('traffic without a router: dark until scaled, then by ready replicas', () => {
  it('sends everything to the stable version while there is no candidate', () => {
    const { world: w } = world({ services: { web: { version: 'v1' } } });
    expect(w.traffic('web')).toEqual([{ version: 'v1', share: 1, role: 'stable' }]);
    expect(w.weight('web')).toBe(0);
    expect(w.traffic('api')).toEqual([]);
  });

  it('keeps a new candidate dark, then gives it its share of the ready replicas once scaled', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } } });
    w.deployCandidate('web', 'v2', 1);
    clock.advance(10_000);
    // Blue-green's green is checked while it takes no traffic.
    expect(shares(w)).toEqual(['stable:v1:1']);
    w.scale('web', { stable: 5, candidate: 1 });
    expect(w.service('web')?.route).toBe('replicas');
    expect(shares(w)).toEqual(['stable:v1:0.833', 'candidate:v2:0.167']);
    w.scale('web', { stable: 3, candidate: 2 });
    // The new candidate replica is still starting: 1 of 4 ready replicas.
    expect(shares(w)).toEqual(['stable:v1:0.75', 'candidate:v2:0.25']);
    clock.advance(10_000);
    expect(shares(w)).toEqual(['stable:v1:0.6', 'candidate:v2:0.4']);
    // Crashed nodes count: node-1 hosts a replica of each.
    w.crashNodes(['node-1']);
    expect(shares(w)).toEqual(['stable:v1:0.667', 'candidate:v2:0.333']);
    w.scale('web', { stable: 0, candidate: 2 });
    expect(shares(w)).toEqual(['candidate:v2:1']);
    w.scale('web', { stable: 0, candidate: 0 });
    expect(w.traffic('web')).toEqual([]);
  });
});

describe('traffic with a router: the split', () => {
  it('splits by weight, records changes, and ignores a repeated weight', () => {
    const { world: w } = canary();
    expect(w.setWeight('web', 10)).toEqual([{ object: 'route/web', field: 'weight', before: null, after: 10 }]);
    expect(shares(w)).toEqual(['stable:v1:0.9', 'candidate:v2:0.1']);
    expect(w.setWeight('web', 10)).toEqual([]);
    expect(w.setWeight('web', 0)).toEqual([{ object: 'route/web', field: 'weight', before: 10, after: 0 }]);
    expect(shares(w)).toEqual(['stable:v1:1']);
    w.setWeight('web', 100);
    expect(shares(w)).toEqual(['candidate:v2:1']);
    expect(w.weight('web')).toBe(100);
  });

  it('a split prepared before the candidate keeps it dark at 0 % and sends nothing to a candidate not ready', () => {
    const { world: w, clock } = world({ services: { web: { version: 'v1' } } });
    w.setWeight('web', 0);
    w.deployCandidate('web', 'v2', 1);
    clock.advance(10_000);
    expect(shares(w)).toEqual(['stable:v1:1']);
    w.setWeight('web', 30);
    w.deployCandidate('web', 'v3', 1);
    expect(shares(w)).toEqual(['stable:v1:1']);
  });

  it('rejects weights out of range and routes for services with nothing deployed', () => {
    const { world: w } = canary();
    expect(() => w.setWeight('web', 101)).toThrow('sim: canary weight for web must be between 0 and 100, got 101');
    expect(() => w.setWeight('web', Number.NaN)).toThrow(ProviderError);
    expect(() => w.setWeight('api', 10)).toThrow('sim: cannot route traffic of api: nothing is deployed (deploy it first)');
    expect(w.weight('api')).toBe(0);
  });

  it('finalize drops the split and sends everything to stable, never promoting, even at 100 %', () => {
    const { world: w } = canary();
    w.setWeight('web', 100);
    expect(w.finalize('web')).toEqual([{ object: 'route/web', field: 'weight', before: 100, after: null }]);
    expect(w.service('web')).toMatchObject({ version: 'v1', route: 'none', weight: 0, candidate: { version: 'v2' } });
    expect(shares(w)).toEqual(['stable:v1:1']);
    expect(w.weight('web')).toBe(0);
    expect(w.finalize('web')).toEqual([]);
    expect(w.finalize('api')).toEqual([]);
    expect(w.setWeight('web', 5)).toEqual([{ object: 'route/web', field: 'weight', before: null, after: 5 }]);
  });

  it('a new candidate is dark again after replica-based traffic; a router split stays with it', () => {
    const { world: w, clock } = canary();
    w.scale('web', { stable: 4, candidate: 1 });
    expect(shares(w)).toEqual(['stable:v1:0.8', 'candidate:v2:0.2']);
    w.deployCandidate('web', 'v3', 1);
    clock.advance(10_000);
    expect(w.service('web')?.route).toBe('none');
    expect(shares(w)).toEqual(['stable:v1:1']);
    // While the router's split is open, scaling moves no traffic.
    w.setWeight('web', 30);
    w.scale('web', { stable: 3, candidate: 2 });
    clock.advance(10_000);
    expect(shares(w)).toEqual(['stable:v1:0.7', 'candidate:v3:0.3']);
    w.deployCandidate('web', 'v4', 1);
    clock.advance(10_000);
    expect(shares(w)).toEqual(['stable:v1:0.7', 'candidate:v4:0.3']);
    // Removing the candidate leaves no route, with nothing recorded for replica-based traffic.
    w.finalize('web');
    w.scale('web', { stable: 3, candidate: 1 });
    expect(w.removeCandidate('web').changes).toEqual([
      { object: 'service/web', field: 'candidate', before: 'v4', after: null },
      { object: 'service/web', field: 'replicas', before: 3, after: 5 },
    ]);
    expect(w.service('web')?.route).toBe('none');
  });
});

describe('measurements of one side', () => {
  it('measures the candidate and the stable requests apart', () => {
    const { world: w } = canary();
    w.setWeight('web', 20);
    const all = w.errorRate('web') as number;
    const candidate = w.errorRate('web', 'candidate') as number;
    const stable = w.errorRate('web', 'stable') as number;
    expect(candidate).toBeGreaterThan(0.25 * 0.975);
    expect(candidate).toBeLessThan(0.25 * 1.025);
    expect(stable).toBeGreaterThan(0.001 * 0.975);
    expect(stable).toBeLessThan(0.001 * 1.025);
    expect(all).toBeGreaterThan(stable);
    expect(all).toBeLessThan(candidate);
    expect(w.latencyP99('web', 'candidate')).toBeGreaterThan(780);
    expect(w.latencyP99('web', 'stable')).toBeLessThan(82);
    expect(w.requestRate('web')).toBeCloseTo(60, -1);
    expect(w.candidateReadyReplicas('web')).toBe(1);
    w.setWeight('web', 0);
    // With no user traffic the candidate is still measured alone, on its preview route.
    expect(w.errorRate('web', 'candidate')).toBeGreaterThan(0.25 * 0.975);
    expect(w.errorRate('web')).toBeLessThan(0.001 * 1.025);
    w.setWeight('web', 100);
    expect(w.errorRate('web', 'stable')).toBeUndefined();
    expect(w.errorRate('web')).toBeGreaterThan(0.25 * 0.975);
  });

  it('counts candidate replicas in the capacity', () => {
    const { world: w } = canary(3);
    expect(w.capacity()).toEqual({ total: 20, used: 8, free: 12 });
  });
});
