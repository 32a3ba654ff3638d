import { afterEach, beforeEach, expect, it } from 'vitest';
import { ProviderError } from '../../errors.js';
import type { HealthReport } from '../../model/results.js';
import type { Clock } from '../../ports/clock.js';
import type { Target } from '../../ports/target.js';
import type { MemoryProviderStates } from '../state.js';
import {
  abortedCall,
  abortingCall,
  type CallOptions,
  type ContractCall,
  contractCall,
  type ContractProcess,
  type Factory,
  nextProcess,
  rejection,
  startProcess,
  type WaitArm,
} from './kit.js';

/** The target calls a fixture may be able to make fail with a transient fault. */
export type TargetOperation = 'current' | 'deploy' | 'health' | 'revert' | 'deployCandidate' | 'removeCandidate' | 'deployUnit' | 'revertUnit';

/**
 * What `describeTargetContract` needs to exercise a target. The infrastructure starts with nothing
 * deployed at every `setup()`, and the step contexts name stage `web`.
 */
export interface TargetFixture extends Factory<Target> {
  /** The step contexts' clock, the same as the deps' (default: wall time). A virtual one makes waits free. */
  clock?: Clock;
  /** Variables the step contexts hand to commands, beside PATH. */
  env?: Record<string, string>;
  /** Two versions that start without trouble, deployed one after the other. */
  versions: readonly [string, string];
  /**
   * A version whose rollout waits until it is aborted (a long start on the virtual clock, a
   * command that hangs): the abort checks roll it out and abort the call.
   */
  slowVersion: string;
  /** Tells the suite when a rollout of `slowVersion` is waiting (see `WaitArm`). */
  slowWaiting?: WaitArm;
  /**
   * The infrastructure as it stands, read without the target under test (files in a temp dir,
   * the simulated world restored from `states.reopen()`), as JSON compared with `toEqual`:
   * what an undo must put back, and what a read must leave alone.
   */
  observe(states: MemoryProviderStates): unknown;
  /**
   * Makes the next call of `operation` fail with a transient fault (a retryable exit code, an
   * injected 503), once; `false` when the target cannot be made to. Called on a fresh fixture,
   * before any deps are made.
   */
  injectFault?(operation: TargetOperation): boolean;
  /** Removes what the fixture made (temp dirs, servers). */
  cleanup?(): void | Promise<void>;
}

/** The current fixture of a target suite, with the calls and processes its checks use. */
export interface TargetRun {
  fixture: TargetFixture;
  call(options?: Omit<CallOptions, 'clock' | 'env'>): ContractCall;
  aborted(): ContractCall;
  aborting(): ContractCall;
  start(): ContractProcess<Target>;
  next(previous: ContractProcess<Target>): ContractProcess<Target>;
  observe(process: ContractProcess<Target>): Promise<unknown>;
  /** Virtual time now (0 on wall time: only simulated clocks are checked). */
  now(): number;
}

/** Registers a fresh fixture for every check of the enclosing `describe`, and its cleanup. */
export function useTargetFixture(setup: () => Promise<TargetFixture> | TargetFixture): () => TargetRun {
  let run: TargetRun | undefined;
  beforeEach(async () => {
    const fixture = await setup();
    const options = { clock: fixture.clock, env: fixture.env };
    run = {
      fixture,
      call: (extra = {}) => contractCall({ ...options, ...extra }),
      aborted: () => abortedCall(options),
      aborting: () => abortingCall(options, fixture.slowWaiting),
      start: () => startProcess(fixture),
      next: (previous) => nextProcess(fixture, previous),
      observe: async (process) => fixture.observe(process.states),
      now: () => (fixture.clock?.simulated ? fixture.clock.now() : 0),
    };
  });
  afterEach(async () => {
    await run?.fixture.cleanup?.();
    run = undefined;
  });
  return () => {
    if (!run) throw new Error('the target contract suite has no fixture outside its checks');
    return run;
  };
}

/** Checks the shape of a health report: a boolean verdict and ready ≤ total, both whole and not negative. */
export function expectHealthReport(report: HealthReport): void {
  expect(typeof report.healthy).toBe('boolean');
  expect(Number.isInteger(report.ready) && report.ready >= 0).toBe(true);
  expect(Number.isInteger(report.total) && report.total >= 0).toBe(true);
  expect(report.ready).toBeLessThanOrEqual(report.total);
  if (report.message !== undefined) expect(typeof report.message).toBe('string');
}

/** One call a fixture may fault: what must run before it, and the call itself. */
export interface FaultCase {
  operation: TargetOperation;
  arrange?(process: ContractProcess<Target>, run: TargetRun): Promise<void>;
  act(process: ContractProcess<Target>, run: TargetRun): Promise<unknown>;
}

/**
 * One check per case: a transient fault is a `ProviderError` with `retryable`, so the engine
 * retries it, and the same call works once the fault has cleared. Skipped (with the reason) when
 * the fixture cannot make that call fail transiently.
 */
export function itRetriesTransientFaults(get: () => TargetRun, cases: readonly FaultCase[]): void {
  for (const c of cases) {
    it(`${c.operation}: a transient fault is a retryable ProviderError, and the call works once it clears`, async ({ skip }) => {
      const run = get();
      if (!run.fixture.injectFault?.(c.operation)) return skip(`the fixture cannot make ${c.operation} fail transiently`);
      const process = run.start();
      await c.arrange?.(process, run);
      const err = await rejection(c.act(process, run));
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).retryable, 'a transient fault must be retryable').toBe(true);
      await c.act(process, run);
    });
  }
}
