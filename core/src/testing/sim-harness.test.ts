import { describe, expect, it } from 'vitest';
import { worldOf } from '../sim/access.js';
import { createSimHarness, simConfig } from './sim-harness.js';

describe('createSimHarness', () => {
  it('wires one world, a virtual clock and recording contexts', () => {
    const h = createSimHarness({ nodes: 2 });
    expect(worldOf(h.deps)).toBe(h.world);
    expect(h.deps.clock).toBe(h.clock);
    const ctx = h.ctx();
    expect(ctx).toMatchObject({ stage: 'web', step: 'step', runId: 'run-1' });
    expect(ctx.signal.aborted).toBe(false);
    ctx.recordChange({ object: 'o', field: 'f', before: 1, after: 2 });
    ctx.log.info('a');
    ctx.log.warn('b');
    ctx.log.output('stdout', 'c');
    expect(h.changes).toHaveLength(1);
    expect(h.logs).toEqual(['a', 'b', 'c']);
  });

  it('restores a saved world', () => {
    const first = createSimHarness();
    first.world.deploy('web', 'v1');
    const again = createSimHarness({}, first.world.toJSON());
    expect(again.world.service('web')?.version).toBe('v1');
    expect(simConfig().nodes).toBe(5);
  });
});
