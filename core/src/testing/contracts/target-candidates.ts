import { describe, expect, it } from 'vitest';
import type { CandidateTarget, ReplicaSplit } from '../../ports/target.js';
import { expectNoTimePassed, expectReadOnly, rejection } from './kit.js';
import { expectHealthReport, itRetriesTransientFaults, type TargetRun } from './target-fixture.js';

/** The candidates capability of a process's target (the suite runs these checks only when it is declared). */
const candidatesOf = (target: { candidates?: CandidateTarget | undefined }): CandidateTarget => {
  if (!target.candidates) throw new Error('the target declares candidates but has none');
  return target.candidates;
};

/**
 * The `CandidateTarget` checks (canary, blue-green): a candidate runs beside the stable version
 * and every call is idempotent; removing it leaves the stable version as it was, also from a new
 * process; promoting makes its version the one `current` reports.
 */
export function describeCandidateChecks(get: () => TargetRun): void {
  describe('candidates', () => {
    /** v1 deployed as the stable version; the infrastructure as it was then, and a split that moves one replica. */
    const stable = async () => {
      const run = get();
      const process = run.start();
      await process.provider.deploy(run.fixture.versions[0], run.call().ctx);
      const candidates = candidatesOf(process.provider);
      const full = await candidates.fullScale(run.call().ctx);
      const split: ReplicaSplit = { stable: Math.max(1, full - 1), candidate: 1 };
      return { run, process, candidates, full, split, v2: run.fixture.versions[1], infra: await run.observe(process) };
    };

    it('fullScale and candidateHealth are read-only', async () => {
      const { run, process, candidates, full, v2 } = await stable();
      expect(Number.isInteger(full) && full > 0, 'the full scale of a running version is a positive whole number').toBe(true);
      await candidates.deployCandidate(v2, 1, run.call().ctx);
      const observe = run.fixture.observe.bind(run.fixture);
      const options = { clock: run.fixture.clock, env: run.fixture.env };
      expect(await expectReadOnly(process, observe, (c) => candidatesOf(process.provider).fullScale(c.ctx), options)).toBe(full);
      expectHealthReport(await expectReadOnly(process, observe, (c) => candidatesOf(process.provider).candidateHealth(c.ctx), options));
    });

    it('deployCandidate and scale are idempotent, and the candidate takes no stable version', async () => {
      const { run, process, candidates, split, v2 } = await stable();
      const first = run.call();
      await candidates.deployCandidate(v2, 1, first.ctx);
      expect(first.changes.length, 'starting a candidate is a reported change').toBeGreaterThan(0);
      const after = await run.observe(process);
      const again = run.call();
      await candidates.deployCandidate(v2, 1, again.ctx);
      expect(again.changes).toEqual([]);
      expect(await run.observe(process)).toEqual(after);
      await candidates.scale(split, run.call().ctx);
      const scaled = await run.observe(process);
      const rescale = run.call();
      await candidates.scale(split, rescale.ctx);
      expect(rescale.changes).toEqual([]);
      expect(await run.observe(process)).toEqual(scaled);
      if (process.provider.knowsCurrent !== false) expect((await process.provider.current(run.call().ctx))?.version).toBe(run.fixture.versions[0]);
    });

    it('removeCandidate leaves the stable version as it was, and removing twice changes nothing more', async () => {
      const { run, process, candidates, split, v2, infra } = await stable();
      await candidates.deployCandidate(v2, 1, run.call().ctx);
      await candidates.scale(split, run.call().ctx);
      await candidates.removeCandidate(run.call().ctx);
      expect(await run.observe(process)).toEqual(infra);
      const again = run.call();
      await candidates.removeCandidate(again.ctx);
      expect(again.changes).toEqual([]);
      expect(await run.observe(process)).toEqual(infra);
    });

    it('a new process removes the candidate with only the persisted state', async () => {
      const { run, process, candidates, split, v2, infra } = await stable();
      await candidates.deployCandidate(v2, 1, run.call().ctx);
      await candidates.scale(split, run.call().ctx);
      const later = run.next(process);
      await candidatesOf(later.provider).removeCandidate(run.call().ctx);
      expect(await run.observe(later)).toEqual(infra);
    });

    it('a new process removes the candidate of a first deploy: nothing is left', async () => {
      const run = get();
      const first = run.start();
      const empty = await run.observe(first);
      await candidatesOf(first.provider).deployCandidate(run.fixture.versions[1], 1, run.call().ctx);
      const later = run.next(first);
      await candidatesOf(later.provider).removeCandidate(run.call().ctx);
      expect(await run.observe(later)).toEqual(empty);
    });

    it('promote makes the candidate the version that runs, and promoting twice changes nothing more', async () => {
      const { run, process, candidates, v2 } = await stable();
      await candidates.deployCandidate(v2, 1, run.call().ctx);
      const later = run.next(process);
      const promoting = candidatesOf(later.provider);
      await promoting.promote(run.call().ctx);
      const promoted = await run.observe(later);
      const again = run.call();
      await promoting.promote(again.ctx);
      expect(again.changes).toEqual([]);
      expect(await run.observe(later)).toEqual(promoted);
      if (later.provider.knowsCurrent !== false) expect((await later.provider.current(run.call().ctx))?.version).toBe(v2);
      if (promoting.retirePromoted) {
        // A target whose promotion leaves the candidate until traffic has left it: retiring it changes
        // what runs no more, and retiring twice changes nothing.
        await promoting.retirePromoted(run.call().ctx);
        const retired = await run.observe(later);
        const twice = run.call();
        await promoting.retirePromoted(twice.ctx);
        expect(twice.changes).toEqual([]);
        expect(await run.observe(later)).toEqual(retired);
        if (later.provider.knowsCurrent !== false) expect((await later.provider.current(run.call().ctx))?.version).toBe(v2);
      }
    });

    itRetriesTransientFaults(get, [
      {
        operation: 'deployCandidate',
        arrange: (p, r) => p.provider.deploy(r.fixture.versions[0], r.call().ctx),
        act: (p, r) => candidatesOf(p.provider).deployCandidate(r.fixture.versions[1], 1, r.call().ctx),
      },
      {
        operation: 'removeCandidate',
        arrange: async (p, r) => {
          await p.provider.deploy(r.fixture.versions[0], r.call().ctx);
          await candidatesOf(p.provider).deployCandidate(r.fixture.versions[1], 1, r.call().ctx);
        },
        act: (p, r) => candidatesOf(p.provider).removeCandidate(r.call().ctx),
      },
    ]);

    it('a candidate aborted while it starts returns promptly, and a new process removes it', async () => {
      const { run, process, candidates, infra } = await stable();
      const since = run.now();
      await rejection(candidates.deployCandidate(run.fixture.slowVersion, 1, run.aborting().ctx));
      expectNoTimePassed(run.fixture.clock, since);
      const later = run.next(process);
      await candidatesOf(later.provider).removeCandidate(run.call().ctx);
      expect(await run.observe(later)).toEqual(infra);
    });

    it('a candidate given an aborted signal returns promptly', async () => {
      const { run, candidates, infra, process } = await stable();
      const since = run.now();
      await rejection(candidates.deployCandidate(run.fixture.slowVersion, 1, run.aborted().ctx));
      expectNoTimePassed(run.fixture.clock, since);
      await candidates.removeCandidate(run.call().ctx);
      expect(await run.observe(process)).toEqual(infra);
    });
  });
}
