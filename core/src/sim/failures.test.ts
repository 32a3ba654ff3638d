import { describe, expect, it } from 'vitest';
import { testWorld, thrownProviderError } from '../testing/sim.js';
import { ProviderError } from '../errors.js';

const world = testWorld;

const thrown = thrownProviderError;

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

  it('compensation failures hit every undo operation, and only those', () => {
    const { world: w } = world({
      failures: [
        { kind: 'compensation-fails', operation: 'remove-candidate', count: 1 },
        { kind: 'compensation-fails', operation: 'revert-unit', count: 1 },
      ],
    });
    for (const op of ['deploy-candidate', 'scale', 'promote', 'deploy-unit', 'unit-health', 'candidate-health', 'revert', 'finalize'] as const) {
      expect(() => w.guard(op, 'web')).not.toThrow();
    }
    expect(() => w.guard('remove-candidate', 'web')).toThrow('sim: remove-candidate of web failed (injected compensation failure); undo it by hand');
    expect(() => w.guard('remove-candidate', 'web')).not.toThrow();
    expect(() => w.guard('revert-unit', 'web on node-3')).toThrow('revert-unit of web on node-3 failed');
    const any = world({ failures: [{ kind: 'compensation-fails' }] });
    for (const op of ['revert', 'finalize', 'remove-candidate', 'revert-unit'] as const) expect(() => any.world.guard(op)).toThrow(ProviderError);
    expect(() => any.world.guard('promote')).not.toThrow();
  });

  it('api errors and partitions hit the candidate and fleet operations too', () => {
    const { world: w, clock } = world({
      failures: [
        { kind: 'api-errors', operation: 'deploy-unit', count: 1, status: 429 },
        { kind: 'partition', at: '1m', duration: '10s' },
      ],
    });
    expect(() => w.guard('deploy-unit', 'web on node-1')).toThrow('sim: rate limited (429) on deploy-unit of web on node-1; retry later');
    expect(() => w.guard('deploy-unit', 'web on node-1')).not.toThrow();
    clock.advance(60_000);
    for (const op of ['deploy-candidate', 'scale', 'promote', 'remove-candidate', 'deploy-unit', 'revert-unit', 'unit-health'] as const) {
      expect(() => w.guard(op)).toThrow('network partition');
    }
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
