import { describe, expect, it } from 'vitest';
import { JournalError, ProviderError } from '../errors.js';
import { simConfig } from '../testing/sim-harness.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { createSimWorld } from './world.js';

describe('toJSON and restore', () => {
  it('restores services, candidates, splits, fleets, nodes, database, counters and time in a new process', () => {
    const config = simConfig({
      services: { web: { version: 'v1' }, api: { version: 'a1' } },
      failures: [
        { kind: 'api-errors', operation: 'deploy', count: 3 },
        { kind: 'node-crash', at: '5m' },
        { kind: 'database-down', at: '1m' },
      ],
    });
    const clock1 = createVirtualClock(Date.UTC(2026, 0, 1));
    const w1 = createSimWorld(config, clock1);
    expect(() => w1.guard('deploy')).toThrow(ProviderError);
    w1.deployCandidate('web', 'v2', 2);
    w1.scale('web', { stable: 3, candidate: 2 });
    w1.setWeight('web', 25);
    w1.setUnit('api', 'node-4', 'a2');
    w1.setUnit('api', 'node-2', null);
    w1.crashNodes(['node-1']);
    clock1.advance(90_000);
    w1.setDatabase({ schemaVersion: 3 });
    const saved = JSON.parse(JSON.stringify(w1.toJSON())) as unknown;
    expect(saved).toMatchObject({
      format: 'rollgate/sim-world@2',
      elapsedMs: 90_000,
      nodes: 5,
      down: [1],
      services: { web: { version: 'v1', replicas: 3, route: 'split', weight: 25, candidate: { version: 'v2', replicas: 2, fullScale: 5 } } },
      fleets: {
        api: [
          [2, null, 0],
          [4, 'a2', 10_000],
        ],
      },
      database: { up: false, schemaVersion: 3 },
      failures: [{ left: 2 }, {}, { fired: true }],
    });

    // A new process whose virtual clock restarts earlier than the save continues at the saved time.
    const clock2 = createVirtualClock(Date.UTC(2026, 0, 1));
    const w2 = createSimWorld(config, clock2, saved);
    expect(w2.elapsed()).toBe(90_000);
    expect(w2.service('web')).toEqual(w1.service('web'));
    expect(w2.traffic('web')).toEqual(w1.traffic('web'));
    expect(w2.unitVersion('api', 'node-4')).toBe('a2');
    expect(w2.unitVersion('api', 'node-2')).toBeUndefined();
    expect(w2.health('api')).toEqual(w1.health('api'));
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
    expect(w2.serviceNames()).toEqual(['web', 'api']);
  });

  it('ignores per-unit versions of nodes the restored world does not have', () => {
    const config = simConfig({ nodes: 3, services: { web: { version: 'v1' } } });
    const saved = { ...createSimWorld(config, createVirtualClock()).toJSON(), fleets: { web: [[3, 'v2', 0], [9, 'v2', 0]], api: [[7, 'a1', 0]] } };
    const w = createSimWorld(config, createVirtualClock(), saved);
    expect(w.unitVersion('web', 'node-3')).toBe('v2');
    expect(w.toJSON().fleets).toEqual({ web: [[3, 'v2', 0]] });
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
    expect(() => createSimWorld(config, clock, { format: 'rollgate/sim-world@1' })).toThrow(
      'the saved simulation state has format rollgate/sim-world@1, this rollgate reads rollgate/sim-world@2; start a new run',
    );
    const saved = createSimWorld(simConfig({ nodes: 3 }), clock).toJSON();
    expect(() => createSimWorld(config, clock, saved)).toThrow('the saved simulation has 3 nodes but the workflow now declares 5; start a new run');
    const tampered = { ...createSimWorld(config, clock).toJSON(), down: [2, 9] };
    expect(createSimWorld(config, clock, tampered).nodes().down).toEqual(['node-2']);
  });
});
