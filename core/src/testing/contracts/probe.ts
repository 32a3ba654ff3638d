import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../model/results.js';
import type { Clock } from '../../ports/clock.js';
import type { Probe } from '../../ports/probe.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import { MemoryProviderStates } from '../state.js';
import { abortedCall, abortingCall, depsOver, expectNoTimePassed, expectReadOnly, settle, type WaitArm } from './kit.js';

/** What `describeProbeContract` needs: probes of one implementation against a working, a failing and a hanging thing. */
export interface ProbeFixture {
  /** Deps of the probes (default: fake deps over `states` on `clock`). */
  deps?(states: MemoryProviderStates): ProviderDeps;
  /** The contexts' clock, the same as the deps' (default: wall time). */
  clock?: Clock;
  /** Variables the contexts hand to commands, beside PATH. */
  env?: Record<string, string>;
  /** A probe of something that works: it measures `ok: true`. */
  working(deps: ProviderDeps): Probe;
  /** A probe of something that fails (a refused connection, a non-zero exit, an injected error). */
  failing(deps: ProviderDeps): Probe;
  /**
   * A probe of something that never answers, with a timeout far beyond the test's, so that only
   * its signal can make it return; absent when none can be made (a TCP connect cannot be held open).
   */
  hanging?(deps: ProviderDeps): Probe;
  /** Tells the suite when the hanging probe is waiting (see `WaitArm`). */
  hangingWaits?: WaitArm;
  /** What the probed infrastructure holds, read without the probe, as JSON; default: nothing to compare. */
  observe?(states: MemoryProviderStates): unknown;
  cleanup?(): void | Promise<void>;
}

/** Checks the shape of a probe result: data a condition can read, that survives a journal write. */
export function expectProbeResult(result: ProbeResult): void {
  expect(typeof result.ok).toBe('boolean');
  expect(result.value === null || ['number', 'string', 'boolean'].includes(typeof result.value), 'value is a number, string, boolean or null').toBe(true);
  expect(Number.isFinite(result.latencyMs) && result.latencyMs >= 0, 'latencyMs is a finite number, not negative').toBe(true);
  if (!result.ok) expect(typeof result.error === 'string' && result.error !== '', 'a failed probe says why in `error`').toBe(true);
  for (const v of Object.values(result.details ?? {})) expect(v === null || ['number', 'string', 'boolean'].includes(typeof v)).toBe(true);
  expect(JSON.parse(JSON.stringify(result))).toEqual(result);
}

/**
 * Registers the shared contract suite of the `Probe` port: a check never throws (a failure is
 * `ok: false` with `error`), returns well-formed data, changes nothing, and returns promptly when
 * its signal aborts, before or while it waits. Call it at the top level of a
 * `<impl>.contract.test.ts` file; `setup` runs before every check.
 */
export function describeProbeContract(name: string, setup: () => Promise<ProbeFixture> | ProbeFixture): void {
  describe(`Probe contract: ${name}`, () => {
    let f: ProbeFixture | undefined;
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      await f?.cleanup?.();
      f = undefined;
    });
    const fixture = () => f as ProbeFixture;
    const options = () => ({ clock: fixture().clock, env: fixture().env });
    /** A probe from `make`, over fresh states, and those states. */
    const made = (make: (deps: ProviderDeps) => Probe) => {
      const states = new MemoryProviderStates();
      return { states, probe: make(fixture().deps?.(states) ?? depsOver(states, fixture().clock)) };
    };

    /** The probe `make` gives, over fresh states; checked read-only, never throwing, well-formed. */
    const checkOnce = async (make: (deps: ProviderDeps) => Probe) => {
      const { states, probe } = made(make);
      const observe = (s: MemoryProviderStates) => fixture().observe?.(s);
      const settled = await expectReadOnly({ states }, observe, (c) => settle(probe.check(c.ctx)), options());
      expect(settled.ok, 'a probe never throws').toBe(true);
      const result = (settled as { value: ProbeResult }).value;
      expectProbeResult(result);
      return result;
    };

    it('measures ok: true where things work, and changes nothing', async () => {
      const result = await checkOnce((deps) => fixture().working(deps));
      expect(result.ok, result.error).toBe(true);
    });

    it('a failure is data: ok: false with an error, never thrown, and changes nothing', async () => {
      const result = await checkOnce((deps) => fixture().failing(deps));
      expect(result.ok).toBe(false);
    });

    it('returns promptly when its signal is already aborted: data, and ok: false where it would have waited', async () => {
      const since = fixture().clock?.now() ?? 0;
      const working = await settle(made(fixture().working.bind(fixture())).probe.check(abortedCall(options()).ctx));
      expect(working.ok, 'a probe never throws').toBe(true);
      if (working.ok) expectProbeResult(working.value);
      const hanging = fixture().hanging;
      if (hanging) {
        const stopped = await settle(made(hanging.bind(fixture())).probe.check(abortedCall(options()).ctx));
        expect(stopped.ok, 'a probe never throws').toBe(true);
        if (stopped.ok) {
          expectProbeResult(stopped.value);
          expect(stopped.value.ok, 'a probe stopped before it measured has no result').toBe(false);
        }
      }
      expectNoTimePassed(fixture().clock, since);
    });

    it('returns promptly, ok: false, when its signal aborts while it waits', async ({ skip }) => {
      const hanging = fixture().hanging;
      if (!hanging) return skip('the fixture cannot make a probe that hangs');
      const { probe } = made(hanging.bind(fixture()));
      const since = fixture().clock?.now() ?? 0;
      const settled = await settle(probe.check(abortingCall(options(), fixture().hangingWaits).ctx));
      expect(settled.ok, 'a probe never throws').toBe(true);
      const result = (settled as { value: ProbeResult }).value;
      expectProbeResult(result);
      expect(result.ok, 'a probe stopped before it measured has no result').toBe(false);
      expectNoTimePassed(fixture().clock, since);
    });
  });
}
