import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../model/events.js';
import { createVirtualClock } from '../clocks/virtual.js';
import { EventBus } from './event-bus.js';

describe('EventBus', () => {
  it('stamps events in order, masks secrets deep inside them, and continues numbering', () => {
    const seen: RunEvent[] = [];
    const bus = new EventBus('run-1', createVirtualClock(Date.UTC(2026, 0, 1)), (t) => t.replaceAll('s3cr3t', '***'), 7);
    bus.subscribe((e) => seen.push(e));
    bus.emit({ kind: 'step.output', stage: 'web', step: 'deploy', stream: 'stdout', line: 'token=s3cr3t' });
    bus.emit({ kind: 'rollback.finished', stage: 'web', complete: false, remaining: ['left s3cr3t'] });
    expect(seen.map((e) => e.seq)).toEqual([8, 9]);
    expect(seen[0]).toMatchObject({ runId: 'run-1', time: '2026-01-01T00:00:00.000Z', line: 'token=***' });
    expect(seen[1]).toMatchObject({ remaining: ['left ***'], complete: false });
    expect(bus.lastSeq).toBe(9);
  });

  it('drops a failing subscriber after reporting it once, and keeps the others', () => {
    const errors: unknown[] = [];
    const bus = new EventBus('r', createVirtualClock(0), (t) => t, 0, (e) => errors.push(e));
    let good = 0;
    bus.subscribe(() => {
      throw new Error('broken reporter');
    });
    bus.subscribe(() => (good += 1));
    bus.emit({ kind: 'stage.skipped', stage: 's', reason: 'x' });
    bus.emit({ kind: 'stage.skipped', stage: 's', reason: 'y' });
    expect(good).toBe(2);
    expect(errors).toHaveLength(1);
  });
});
