import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../errors.js';
import type { Weights } from '../../model/results.js';
import type { Clock } from '../../ports/clock.js';
import type { StepContext } from '../../ports/step-context.js';
import type { TrafficRouter } from '../../ports/traffic-router.js';
import type { MemoryProviderStates } from '../state.js';
import {
  abortedCall,
  type ContractCall,
  contractCall,
  type ContractProcess,
  expectNoTimePassed,
  expectReadOnly,
  type Factory,
  nextProcess,
  rejection,
  settle,
  startProcess,
} from './kit.js';

/** The router calls a fixture may be able to make fail with a transient fault. */
export type RouterOperation = 'setWeights' | 'getWeights' | 'finalize';

/**
 * What `describeTrafficRouterContract` needs. At every `setup()` the routed service exists with
 * no split of anyone's (what a router must be able to start from), and contexts name stage `web`.
 */
export interface TrafficRouterFixture extends Factory<TrafficRouter> {
  /** The contexts' clock, the same as the deps' (default: wall time). */
  clock?: Clock;
  /** The contexts' environment (a cloud's standard credential variables), as the runner's would be. */
  env?: Record<string, string>;
  /** The routing as it stands, read without the router under test, as JSON compared with `toEqual`. */
  observe(states: MemoryProviderStates): unknown;
  /**
   * Opens a split of `found.canary` % as someone else would before rollgate touches the route (an
   * existing weighted route), in the process whose states are `states`; absent when the router
   * cannot meet one, and then the "restores what it found" checks start from no split only.
   */
  arrange?(states: MemoryProviderStates, found: Weights): void | Promise<void>;
  /**
   * How long the live split may lag a `setWeights` (a proxy that reloads), on the fixture's clock:
   * the suite polls `getWeights` until it agrees or this passes. Default 0: it agrees at once.
   */
  settleMs?: number;
  /** Makes the next call of `operation` fail transiently, once; `false` when it cannot. Called before any deps are made. */
  injectFault?(operation: RouterOperation): boolean;
  cleanup?(): void | Promise<void>;
}

/** What the router's module declares: `weights: 'switch'` for a router that moves all traffic at once. */
export interface RouterTraits {
  /**
   * The router switches all traffic at once (a Service selector): the checks set 100 where others
   * set a share, and check that a share between 0 and 100 is refused, changing nothing.
   */
  readonly weights?: 'switch';
}

/**
 * Registers the shared contract suite of the `TrafficRouter` port: `getWeights` reports what was
 * set and changes nothing, `setWeights` and `finalize` are idempotent, the routing found on first
 * touch is kept in the router's state before its first change and restored by `finalize` (also
 * from a new process, and also when `finalize` is the first touch), transient faults are
 * retryable `ProviderError`s, and an aborted call returns promptly. Call it at the top level of a
 * `<impl>.contract.test.ts` file; `setup` runs before every check.
 */
export function describeTrafficRouterContract(name: string, setup: () => Promise<TrafficRouterFixture> | TrafficRouterFixture, traits: RouterTraits = {}): void {
  describe(`TrafficRouter contract: ${name}`, () => {
    let f: TrafficRouterFixture | undefined;
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      await f?.cleanup?.();
      f = undefined;
    });
    const fixture = () => f as TrafficRouterFixture;
    const call = (): ContractCall => contractCall({ clock: fixture().clock, ...(fixture().env ? { env: fixture().env } : {}) });
    const ctx = (): StepContext => call().ctx;
    const start = () => startProcess(fixture());
    const next = (p: ContractProcess<TrafficRouter>) => nextProcess(fixture(), p);
    const observe = (p: ContractProcess<TrafficRouter>) => fixture().observe(p.states);
    /** A share of `canary` %, or all of it for a router that switches. */
    const share = (canary: number): { canary: number } => ({ canary: traits.weights === 'switch' && canary > 0 ? 100 : canary });

    /** Polls `getWeights` until it reports `canary`, for at most the fixture's `settleMs`. */
    const expectSplit = async (router: TrafficRouter, canary: number) => {
      const clock = fixture().clock;
      const until = (clock?.now() ?? 0) + (fixture().settleMs ?? 0);
      let seen = await router.getWeights(ctx());
      while (seen.canary !== canary && clock && clock.now() < until) {
        await clock.sleep(Math.min(100, until - clock.now()));
        seen = await router.getWeights(ctx());
      }
      expect(seen, 'getWeights reports the split setWeights set').toEqual({ canary });
    };

    /** A process where someone else's split of 10 % is open when `arrange` exists, else none; and how it looked. */
    const found = async () => {
      const p = start();
      await fixture().arrange?.(p.states, { canary: 10 });
      return { p, infra: await observe(p), weights: await p.provider.getWeights(ctx()) };
    };

    it('getWeights reports the split that was set, and is read-only', async () => {
      const { provider: router, states } = start();
      expect(typeof router.type).toBe('string');
      for (const canary of [30, 60, 0, 100]) {
        await router.setWeights(share(canary), ctx());
        await expectSplit(router, share(canary).canary);
      }
      const weights = await expectReadOnly({ states }, fixture().observe.bind(fixture()), (c) => router.getWeights(c.ctx), { clock: fixture().clock });
      expect(weights.canary).toBe(100);
    });

    it('setting the same weight twice changes nothing the second time', async () => {
      const p = start();
      await p.provider.setWeights(share(25), ctx());
      const infra = await observe(p);
      const again = call();
      await p.provider.setWeights(share(25), again.ctx);
      expect(again.changes).toEqual([]);
      expect(await observe(p)).toEqual(infra);
    });

    it('keeps what it found in its state before its first change', async () => {
      const p = start();
      let putsAtFirstChange: number | undefined;
      const first = call();
      first.ctx.recordChange = (change) => {
        putsAtFirstChange ??= p.states.puts;
        first.changes.push(change);
      };
      await p.provider.setWeights(share(20), first.ctx);
      expect(first.changes.length, 'opening a split is a reported change').toBeGreaterThan(0);
      expect(putsAtFirstChange, 'the state was written before the change was made').toBeGreaterThan(0);
    });

    it('finalize restores what it found, and finalizing twice changes nothing more', async () => {
      const { p, infra, weights } = await found();
      await p.provider.setWeights(share(20), ctx());
      await p.provider.setWeights(share(50), ctx());
      await p.provider.finalize(ctx());
      expect(await observe(p)).toEqual(infra);
      await expectSplit(p.provider, weights.canary);
      const again = call();
      await p.provider.finalize(again.ctx);
      expect(again.changes).toEqual([]);
      expect(await observe(p)).toEqual(infra);
    });

    it('with nothing found, finalize sends all traffic to the stable version', async () => {
      const p = start();
      await p.provider.setWeights(share(40), ctx());
      await p.provider.finalize(ctx());
      await expectSplit(p.provider, 0);
    });

    it('a later process finalizes to what the first one found, with only the persisted state', async () => {
      const { p, infra, weights } = await found();
      await p.provider.setWeights(share(40), ctx());
      // A resumed job moves the weight on: what it finds then is rollgate's split, not the original.
      const resumed = next(p);
      await resumed.provider.setWeights(share(60), ctx());
      const undoing = next(resumed);
      await undoing.provider.finalize(ctx());
      expect(await observe(undoing)).toEqual(infra);
      await expectSplit(undoing.provider, weights.canary);
    });

    // A rollback calls finalize even when setWeights never ran (a candidate removed before any
    // weight moved, a setWeights that failed before its first change): someone else's split must survive it.
    it('finalize as the first touch leaves the routing as it found it', async () => {
      const { p, infra } = await found();
      const first = call();
      await p.provider.finalize(first.ctx);
      expect(first.changes).toEqual([]);
      expect(await observe(p)).toEqual(infra);
    });

    if (traits.weights === 'switch') it('a router that switches refuses a share between 0 and 100, changing nothing', async () => {
      const p = start();
      const infra = await observe(p);
      const refused = call();
      const err = await rejection(p.provider.setWeights({ canary: 30 }, refused.ctx));
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as Error).message).toMatch(/30 %/);
      expect(refused.changes).toEqual([]);
      expect(await observe(p)).toEqual(infra);
    });

    for (const operation of ['setWeights', 'getWeights', 'finalize'] as const) {
      it(`${operation}: a transient fault is a retryable ProviderError, and the call works once it clears`, async ({ skip }) => {
        if (!fixture().injectFault?.(operation)) return skip(`the fixture cannot make ${operation} fail transiently`);
        const router = start().provider;
        const act = () => (operation === 'setWeights' ? router.setWeights(share(30), ctx()) : router[operation](ctx()));
        const err = await rejection(act());
        expect(err).toBeInstanceOf(ProviderError);
        expect((err as ProviderError).retryable, 'a transient fault must be retryable').toBe(true);
        await act();
      });
    }

    it('returns promptly when its signal is already aborted', async () => {
      const router = start().provider;
      const since = fixture().clock?.now() ?? 0;
      await settle(router.setWeights(share(30), abortedCall({ clock: fixture().clock, ...(fixture().env ? { env: fixture().env } : {}) }).ctx));
      await settle(router.getWeights(abortedCall({ clock: fixture().clock, ...(fixture().env ? { env: fixture().env } : {}) }).ctx));
      await settle(router.finalize(abortedCall({ clock: fixture().clock, ...(fixture().env ? { env: fixture().env } : {}) }).ctx));
      expectNoTimePassed(fixture().clock, since);
    });
  });
}
