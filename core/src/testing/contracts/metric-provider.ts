import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NoDataError, ProviderError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { MetricProvider } from '../../ports/metric-provider.js';
import type { MemoryProviderStates } from '../state.js';
import { abortedCall, contractCall, expectNoTimePassed, expectReadOnly, type Factory, rejection, settle, startProcess } from './kit.js';

/** What `describeMetricProviderContract` needs. Contexts name stage `web`. */
export interface MetricProviderFixture extends Factory<MetricProvider> {
  /** The contexts' clock, the same as the deps' (default: wall time). */
  clock?: Clock;
  /** Queries the source has a sample for at every `setup()`. */
  sampled: readonly string[];
  /** Queries the source answers with no sample (nothing deployed there, no traffic yet). */
  noData: readonly string[];
  /** What the source's infrastructure holds, read without the provider, as JSON; default: nothing to compare. */
  observe?(states: MemoryProviderStates): unknown;
  /**
   * Makes the next query fail as when the source cannot be reached (a 503, a refused connection),
   * once; absent when it cannot. Called on a fresh fixture before any deps are made.
   */
  injectFault?(): void;
  cleanup?(): void | Promise<void>;
}

/**
 * Registers the shared contract suite of the `MetricProvider` port: a query returns one finite
 * number and changes nothing, a source with no sample throws `NoDataError` (never a silent zero),
 * an unreachable source throws a retryable `ProviderError` that is not `NoDataError`, and an
 * aborted query returns promptly. Call it at the top level of a `<impl>.contract.test.ts` file;
 * `setup` runs before every check.
 */
export function describeMetricProviderContract(name: string, setup: () => Promise<MetricProviderFixture> | MetricProviderFixture): void {
  describe(`MetricProvider contract: ${name}`, () => {
    let f: MetricProviderFixture | undefined;
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      await f?.cleanup?.();
      f = undefined;
    });
    const fixture = () => f as MetricProviderFixture;
    const ctx = () => contractCall({ clock: fixture().clock }).ctx;
    const observe = (states: MemoryProviderStates) => fixture().observe?.(states);

    it('answers each sampled query with one finite number, and changes nothing', async () => {
      const p = startProcess(fixture());
      expect(typeof p.provider.type).toBe('string');
      expect(fixture().sampled.length, 'the fixture names a sampled query').toBeGreaterThan(0);
      for (const query of fixture().sampled) {
        const value = await expectReadOnly(p, observe, (c) => p.provider.query(query, c.ctx), { clock: fixture().clock });
        expect(typeof value, query).toBe('number');
        expect(Number.isFinite(value), `${query} is finite`).toBe(true);
      }
    });

    it('throws NoDataError when the source has no sample, never a silent zero', async () => {
      const p = startProcess(fixture());
      expect(fixture().noData.length, 'the fixture names a query without data').toBeGreaterThan(0);
      for (const query of fixture().noData) {
        const settled = await expectReadOnly(p, observe, (c) => settle(p.provider.query(query, c.ctx)), { clock: fixture().clock });
        expect(settled.ok, `${query} must throw, not answer`).toBe(false);
        const err = settled.ok ? undefined : settled.error;
        expect(err, query).toBeInstanceOf(NoDataError);
        expect((err as Error).message, 'the message says why there is no sample').not.toBe('');
      }
    });

    it('an unreachable source is a retryable ProviderError, not NoDataError, and the query works once it is back', async ({ skip }) => {
      if (!fixture().injectFault) return skip('the fixture cannot make the source unreachable');
      fixture().injectFault?.();
      const { provider } = startProcess(fixture());
      const query = fixture().sampled[0] as string;
      const err = await rejection(provider.query(query, ctx()));
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).not.toBeInstanceOf(NoDataError);
      expect((err as ProviderError).retryable, 'an unreachable source is transient').toBe(true);
      expect(Number.isFinite(await provider.query(query, ctx()))).toBe(true);
    });

    it('returns promptly when its signal is already aborted', async () => {
      const { provider } = startProcess(fixture());
      const since = fixture().clock?.now() ?? 0;
      for (const query of [...fixture().sampled, ...fixture().noData]) {
        await settle(provider.query(query, abortedCall({ clock: fixture().clock }).ctx));
      }
      expectNoTimePassed(fixture().clock, since);
    });
  });
}
