import { expect } from 'vitest';
import { createRealClock } from '../../clocks/real.js';
import { CancelledError, ProviderError } from '../../errors.js';
import type { Change } from '../../model/events.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import { fakeDeps, fakeStepContext, silentLogger } from '../fakes.js';
import { MemoryProviderStates } from '../state.js';

/*
 * What every contract suite shares: step contexts that record what a call reported and can abort
 * it once it waits, the processes of one run (a later one sees only the persisted state), and the
 * read-only check.
 */

/** The stage of every context the suites make: a provider that defaults to the stage name acts on `web`. */
export const CONTRACT_STAGE = 'web';

/** The reason the suites abort a call with. */
export const abortReason = () => new CancelledError('the contract suite aborted the step');

export interface CallOptions {
  /** The step's clock (default: wall time). */
  clock?: Clock | undefined;
  /** Variables added to the context's env (PATH is always there). */
  env?: Record<string, string> | undefined;
  signal?: AbortSignal;
  /** Where the call's log lines go (default: nowhere). */
  log?: Logger;
}

/** A step context for one call, and what the call reported through it. */
export interface ContractCall {
  ctx: StepContext;
  /** Every `ctx.recordChange` of the call. */
  changes: Change[];
}

/**
 * A step context for one call (stage `web`), whose reported changes are kept. `onWait`, when
 * given, runs once the call starts to wait: when it sleeps on `ctx.clock` or starts a process
 * (`ctx.trackProcess`), just after, so the wait has begun.
 */
export function contractCall(options: CallOptions = {}, onWait?: () => void): ContractCall {
  const changes: Change[] = [];
  const clock = options.clock ?? createRealClock();
  let armed = onWait;
  // The abort runs after the wait has begun (its listener is on the signal), never inside it.
  const waiting = () => {
    const fire = armed;
    armed = undefined;
    if (fire) queueMicrotask(fire);
  };
  const watched: Clock = {
    ...(clock.simulated ? { simulated: true } : {}),
    now: () => clock.now(),
    sleep: (ms, signal) => {
      const slept = clock.sleep(ms, signal);
      waiting();
      return slept;
    },
    setTimer: (ms, fn) => clock.setTimer(ms, fn),
    ...(clock.hold ? { hold: <T>(work: Promise<T>) => clock.hold?.(work) ?? work } : {}),
  };
  const ctx = fakeStepContext({
    stage: CONTRACT_STAGE,
    step: 'contract',
    clock: watched,
    changes,
    log: options.log ?? silentLogger,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const track = ctx.trackProcess;
  ctx.trackProcess = (pgid, command) => {
    const untrack = track(pgid, command);
    waiting();
    return untrack;
  };
  return { ctx, changes };
}

/**
 * How a fixture tells the suite that a slow call is now waiting, so that it can abort it there:
 * it calls `abort` (when its server got the request), or returns a logger that does (when the
 * command says it waits). Without one, a call is waiting once it sleeps on the step's clock or
 * starts a process.
 */
export type WaitArm = (abort: () => void) => { log?: Logger } | void;

/** A context with an already-aborted signal. */
export function abortedCall(options: CallOptions = {}): ContractCall {
  const controller = new AbortController();
  controller.abort(abortReason());
  return contractCall({ ...options, signal: controller.signal });
}

/** A context that aborts its signal once the call waits (see `WaitArm`). */
export function abortingCall(options: CallOptions = {}, arm?: WaitArm): ContractCall {
  const controller = new AbortController();
  const abort = () => controller.abort(abortReason());
  const armed = arm?.(abort);
  return contractCall({ ...options, ...(armed?.log ? { log: armed.log } : {}), signal: controller.signal }, arm ? undefined : abort);
}

/** A logger that calls `abort` at the first output line `matches` accepts. */
export function abortOnOutput(abort: () => void, matches: (line: string) => boolean): Logger {
  return {
    info() {},
    warn() {},
    output: (_stream, line) => {
      if (matches(line)) queueMicrotask(abort);
    },
  };
}

/** What a promise came to, without throwing. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const settled = await settle(promise);
  expect(settled.ok, 'expected the call to reject').toBe(false);
  return settled.ok ? undefined : settled.error;
}

/** The `ProviderError` `promise` rejects with; fails the test when it resolves or throws anything else. */
export async function providerFailure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

/**
 * On a simulated clock, checks that no virtual time passed since `since`: a call that ignored its
 * signal would have slept its whole wait there in no real time, so a timeout could not catch it.
 * On wall time a call that does not return promptly makes the test time out instead.
 */
export function expectNoTimePassed(clock: Clock | undefined, since: number): void {
  if (clock?.simulated) expect(clock.now() - since, 'virtual time passed after the abort').toBe(0);
}

/** A provider and what it needs, made by a fixture from deps. */
export interface Factory<P> {
  /** Deps for one process of the run, whose provider states are `states`. */
  deps(states: MemoryProviderStates): ProviderDeps;
  /** Creates the provider under test, as `create(config, deps)` of its module does. */
  create(deps: ProviderDeps): P;
}

/** One process of a run: its provider states (as the journal keeps them), its deps and its provider. */
export interface ContractProcess<P> {
  states: MemoryProviderStates;
  deps: ProviderDeps;
  provider: P;
}

export function startProcess<P>(factory: Factory<P>, states = new MemoryProviderStates()): ContractProcess<P> {
  const deps = factory.deps(states);
  return { states, deps, provider: factory.create(deps) };
}

/** The next process of the same run: a new provider made from what `previous` persisted, no live object. */
export function nextProcess<P>(factory: Factory<P>, previous: ContractProcess<P>): ContractProcess<P> {
  return startProcess(factory, previous.states.reopen());
}

/** Deps over `states` on `clock`, for providers that need nothing else. */
export function depsOver(states: MemoryProviderStates, clock?: Clock): ProviderDeps {
  return fakeDeps(clock ? { clock } : {}, { states });
}

/** What a JSON round trip (a journal write, an event) keeps of `value`. */
export function viaJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * Runs `read` twice and checks that it changed nothing: no change reported, no provider state
 * written, the infrastructure as `observe` reads it the same, and the persisted states the same
 * across the second read (the first may make a live object from what was kept, as a world is
 * made on first touch; that is no change). Returns what the first read gave.
 */
export async function expectReadOnly<R>(
  process: { states: MemoryProviderStates },
  observe: (states: MemoryProviderStates) => unknown,
  read: (call: ContractCall) => Promise<R>,
  options: CallOptions = {},
): Promise<R> {
  const puts = process.states.puts;
  const infra = await observe(process.states);
  const first = contractCall(options);
  const value = await read(first);
  const states = process.states.snapshot();
  const second = contractCall(options);
  await read(second);
  expect([...first.changes, ...second.changes], 'a read reported a change').toEqual([]);
  expect(process.states.puts, 'a read wrote provider state').toBe(puts);
  expect(process.states.snapshot(), 'a read changed the persisted state').toEqual(states);
  expect(await observe(process.states), 'a read changed the infrastructure').toEqual(infra);
  return value;
}
