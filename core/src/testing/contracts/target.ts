import { describe, expect, it } from 'vitest';
import type { TargetCapability } from '../../ports/target.js';
import { expectNoTimePassed, expectReadOnly, rejection, viaJson } from './kit.js';
import { describeCandidateChecks } from './target-candidates.js';
import { describeFleetChecks } from './target-fleet.js';
import { expectHealthReport, itRetriesTransientFaults, type TargetFixture, useTargetFixture } from './target-fixture.js';

export type { TargetFixture, TargetOperation } from './target-fixture.js';

/** What the target's module declares beside `create`: the capabilities whose checks run. */
export interface TargetTraits {
  readonly capabilities: readonly TargetCapability[];
}

/**
 * Registers the shared contract suite of the `Target` port for one implementation: deploys are
 * idempotent and reported, reads change nothing, transient faults are retryable `ProviderError`s,
 * an aborted call returns promptly, and a new process undoes with only the persisted state. The
 * `candidates` and `fleet` checks run when `traits.capabilities` (the module's own declaration)
 * names them. Call it at the top level of a `<impl>.contract.test.ts` file; `setup` runs before
 * every check and must give a fresh infrastructure with nothing deployed.
 *
 * @example
 * // core/src/targets/kube.contract.test.ts: `kube` is the module, which declares its capabilities.
 * import * as kube from './kube.js';
 * describeTargetContract('kube', kube, () => ({ deps, create: (d) => kube.create(config, d), versions: ['v1', 'v2'], slowVersion, observe }));
 * // See targets/command.contract.test.ts (files in a temp dir) and targets/sim.contract.test.ts (the simulated world).
 */
export function describeTargetContract(name: string, traits: TargetTraits, setup: () => Promise<TargetFixture> | TargetFixture): void {
  describe(`Target contract: ${name}`, () => {
    const get = useTargetFixture(setup);
    const v1 = () => get().fixture.versions[0];
    const v2 = () => get().fixture.versions[1];

    /** Deploys v1 in a process and returns it, with what runs and how the infrastructure looks then. */
    const deployed = async () => {
      const run = get();
      const process = run.start();
      await process.provider.deploy(v1(), run.call().ctx);
      return { run, process, previous: viaJson(await process.provider.current(run.call().ctx)), infra: await run.observe(process) };
    };

    it('declares exactly the capabilities it has', () => {
      const target = get().start().provider;
      expect(typeof target.type).toBe('string');
      expect(target.candidates !== undefined, 'candidates present ⇔ declared').toBe(traits.capabilities.includes('candidates'));
      expect(target.fleet !== undefined, 'fleet present ⇔ declared').toBe(traits.capabilities.includes('fleet'));
    });

    it('reports nothing deployed at first, then the version it deployed, and reports the change', async () => {
      const run = get();
      const { provider: target } = run.start();
      expect(await target.current(run.call().ctx)).toBeUndefined();
      const call = run.call();
      await target.deploy(v1(), call.ctx);
      expect(call.changes.length, 'a deploy that changed something reports it').toBeGreaterThan(0);
      if (target.knowsCurrent !== false) expect((await target.current(run.call().ctx))?.version).toBe(v1());
    });

    it('deploying the version that runs changes nothing', async () => {
      const { run, process, infra } = await deployed();
      const again = run.call();
      await process.provider.deploy(v1(), again.ctx);
      expect(again.changes).toEqual([]);
      expect(await run.observe(process)).toEqual(infra);
    });

    it('current and health are read-only', async () => {
      const { run, process } = await deployed();
      const observe = run.fixture.observe.bind(run.fixture);
      const options = { clock: run.fixture.clock, env: run.fixture.env };
      const current = await expectReadOnly(process, observe, (c) => process.provider.current(c.ctx), options);
      if (current !== undefined) expect(typeof current.version).toBe('string');
      expectHealthReport(await expectReadOnly(process, observe, (c) => process.provider.health(c.ctx), options));
    });

    it('revert puts the previous version back, and reverting twice changes nothing more', async () => {
      const { run, process, previous, infra } = await deployed();
      await process.provider.deploy(v2(), run.call().ctx);
      await process.provider.revert(previous, run.call().ctx);
      expect(await run.observe(process)).toEqual(infra);
      const again = run.call();
      await process.provider.revert(previous, again.ctx);
      expect(again.changes).toEqual([]);
      expect(await run.observe(process)).toEqual(infra);
    });

    it('a new process undoes a first deploy with only the persisted state, idempotently', async () => {
      const run = get();
      const first = run.start();
      const empty = await run.observe(first);
      await first.provider.deploy(v1(), run.call().ctx);
      const later = run.next(first);
      await later.provider.revert(undefined, run.call().ctx);
      expect(await run.observe(later)).toEqual(empty);
      const again = run.call();
      await later.provider.revert(undefined, again.ctx);
      expect(again.changes).toEqual([]);
      expect(await run.observe(later)).toEqual(empty);
    });

    it('a new process puts the previous version back with only the persisted state', async () => {
      const { run, process, infra } = await deployed();
      const deploying = run.next(process);
      // What the engine keeps in the journal before the change: the version running then.
      const previous = viaJson(await deploying.provider.current(run.call().ctx));
      await deploying.provider.deploy(v2(), run.call().ctx);
      const undoing = run.next(deploying);
      await undoing.provider.revert(previous, run.call().ctx);
      expect(await run.observe(undoing)).toEqual(infra);
    });

    itRetriesTransientFaults(get, [
      { operation: 'current', act: (p, r) => p.provider.current(r.call().ctx) },
      { operation: 'deploy', act: (p, r) => p.provider.deploy(r.fixture.versions[0], r.call().ctx) },
      {
        operation: 'health',
        arrange: (p, r) => p.provider.deploy(r.fixture.versions[0], r.call().ctx),
        act: (p, r) => p.provider.health(r.call().ctx),
      },
      {
        operation: 'revert',
        arrange: (p, r) => p.provider.deploy(r.fixture.versions[0], r.call().ctx),
        act: (p, r) => p.provider.revert(undefined, r.call().ctx),
      },
    ]);

    it('a deploy given an aborted signal returns promptly, and revert undoes what it began', async () => {
      const { run, process, previous, infra } = await deployed();
      const since = run.now();
      await rejection(process.provider.deploy(run.fixture.slowVersion, run.aborted().ctx));
      expectNoTimePassed(run.fixture.clock, since);
      await process.provider.revert(previous, run.call().ctx);
      expect(await run.observe(process)).toEqual(infra);
    });

    it('a deploy aborted while it waits returns promptly, and a new process undoes what it began', async () => {
      const { run, process, previous, infra } = await deployed();
      const since = run.now();
      await rejection(process.provider.deploy(run.fixture.slowVersion, run.aborting().ctx));
      expectNoTimePassed(run.fixture.clock, since);
      const undoing = run.next(process);
      await undoing.provider.revert(previous, run.call().ctx);
      expect(await run.observe(undoing)).toEqual(infra);
    });

    if (traits.capabilities.includes('candidates')) describeCandidateChecks(get);
    if (traits.capabilities.includes('fleet')) describeFleetChecks(get);
  });
}
