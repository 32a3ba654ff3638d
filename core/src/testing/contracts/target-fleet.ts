import { describe, expect, it } from 'vitest';
import type { FleetTarget } from '../../ports/target.js';
import { expectNoTimePassed, expectReadOnly, rejection } from './kit.js';
import { expectHealthReport, itRetriesTransientFaults, type TargetRun } from './target-fixture.js';

/** The fleet capability of a process's target (the suite runs these checks only when it is declared). */
const fleetOf = (target: { fleet?: FleetTarget | undefined }): FleetTarget => {
  if (!target.fleet) throw new Error('the target declares fleet but has none');
  return target.fleet;
};

/**
 * The `FleetTarget` checks (progressive waves): units are listed and read without changing them,
 * deploying to or reverting one unit is idempotent, and a new process reverts a unit with only
 * the persisted state.
 */
export function describeFleetChecks(get: () => TargetRun): void {
  describe('fleet', () => {
    /** v1 deployed to the whole target; its first unit, and the infrastructure as it was then. */
    const fleet = async () => {
      const run = get();
      const process = run.start();
      await process.provider.deploy(run.fixture.versions[0], run.call().ctx);
      const units = await fleetOf(process.provider).units(run.call().ctx);
      const unit = units[0];
      if (unit === undefined) throw new Error('a fleet target with something deployed lists at least one unit');
      return { run, process, units, unit, v1: run.fixture.versions[0], v2: run.fixture.versions[1], infra: await run.observe(process) };
    };

    it('units, unitVersion and unitHealth are read-only, and each unit runs what the target deployed', async () => {
      const { run, process, units, unit, v1 } = await fleet();
      expect(new Set(units).size, 'units are distinct').toBe(units.length);
      expect(units.every((u) => typeof u === 'string' && u !== '')).toBe(true);
      const observe = run.fixture.observe.bind(run.fixture);
      const options = { clock: run.fixture.clock, env: run.fixture.env };
      const target = fleetOf(process.provider);
      expect(await expectReadOnly(process, observe, (c) => target.units(c.ctx), options)).toEqual(units);
      expect(await expectReadOnly(process, observe, (c) => target.unitVersion(unit, c.ctx), options)).toBe(v1);
      expectHealthReport(await expectReadOnly(process, observe, (c) => target.unitHealth(unit, c.ctx), options));
    });

    it('deployUnit and revertUnit are idempotent, and revertUnit puts the unit back', async () => {
      const { run, process, unit, v1, v2, infra } = await fleet();
      const target = fleetOf(process.provider);
      const first = run.call();
      await target.deployUnit(unit, v2, first.ctx);
      expect(first.changes.length, 'changing a unit is a reported change').toBeGreaterThan(0);
      const after = await run.observe(process);
      const again = run.call();
      await target.deployUnit(unit, v2, again.ctx);
      expect(again.changes).toEqual([]);
      expect(await run.observe(process)).toEqual(after);
      expect(await target.unitVersion(unit, run.call().ctx)).toBe(v2);
      await target.revertUnit(unit, v1, run.call().ctx);
      expect(await run.observe(process)).toEqual(infra);
      const twice = run.call();
      await target.revertUnit(unit, v1, twice.ctx);
      expect(twice.changes).toEqual([]);
      expect(await run.observe(process)).toEqual(infra);
    });

    it('a new process reverts a unit with only the persisted state', async () => {
      const { run, process, unit, v1, v2, infra } = await fleet();
      await fleetOf(process.provider).deployUnit(unit, v2, run.call().ctx);
      const later = run.next(process);
      await fleetOf(later.provider).revertUnit(unit, v1, run.call().ctx);
      expect(await run.observe(later)).toEqual(infra);
    });

    it('revertUnit with no previous version removes the service from the unit', async () => {
      const { run, process, unit } = await fleet();
      const target = fleetOf(process.provider);
      await target.revertUnit(unit, undefined, run.call().ctx);
      expect(await target.unitVersion(unit, run.call().ctx)).toBeUndefined();
      const again = run.call();
      await target.revertUnit(unit, undefined, again.ctx);
      expect(again.changes).toEqual([]);
    });

    itRetriesTransientFaults(get, [
      {
        operation: 'deployUnit',
        arrange: (p, r) => p.provider.deploy(r.fixture.versions[0], r.call().ctx),
        act: async (p, r) => {
          const [unit] = await fleetOf(p.provider).units(r.call().ctx);
          await fleetOf(p.provider).deployUnit(unit as string, r.fixture.versions[1], r.call().ctx);
        },
      },
      {
        operation: 'revertUnit',
        arrange: (p, r) => p.provider.deploy(r.fixture.versions[0], r.call().ctx),
        act: async (p, r) => {
          const [unit] = await fleetOf(p.provider).units(r.call().ctx);
          await fleetOf(p.provider).revertUnit(unit as string, undefined, r.call().ctx);
        },
      },
    ]);

    it('a unit aborted while it starts returns promptly, and a new process reverts it', async () => {
      const { run, process, unit, v1, infra } = await fleet();
      const since = run.now();
      await rejection(fleetOf(process.provider).deployUnit(unit, run.fixture.slowVersion, run.aborting().ctx));
      expectNoTimePassed(run.fixture.clock, since);
      const later = run.next(process);
      await fleetOf(later.provider).revertUnit(unit, v1, run.call().ctx);
      expect(await run.observe(later)).toEqual(infra);
    });

    it('a unit given an aborted signal returns promptly', async () => {
      const { run, process, unit, v1, infra } = await fleet();
      const since = run.now();
      await rejection(fleetOf(process.provider).deployUnit(unit, run.fixture.slowVersion, run.aborted().ctx));
      expectNoTimePassed(run.fixture.clock, since);
      await fleetOf(process.provider).revertUnit(unit, v1, run.call().ctx);
      expect(await run.observe(process)).toEqual(infra);
    });
  });
}
