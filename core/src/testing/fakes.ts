import { createRealClock } from '../clocks/real.js';
import type { Change } from '../model/events.js';
import type { ProbeResult } from '../model/results.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { MemoryProviderStates } from './state.js';

/**
 * Fakes for testing providers outside the engine (shipped, so plugin authors can use them too).
 * Everything is injected; nothing reads the environment.
 */
export const silentLogger: Logger = { info() {}, warn() {}, output() {} };

/** A standard PATH for commands spawned by tests. */
export const TEST_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * Deps for a provider under test. Its state and its family's shared state live in `states`
 * (a fresh one unless given: pass `states.reopen()` to play a later process of the same run), and
 * `settings` answers `deps.settings(family)`; `probes` answers `deps.probe(name)` (a result, or a
 * function called at each read), and a probe not in it is an error naming it.
 */
export function fakeDeps(
  overrides: Partial<ProviderDeps> = {},
  options: { states?: MemoryProviderStates; key?: string; settings?: Record<string, unknown>; probes?: Record<string, ProbeResult | (() => ProbeResult)> } = {},
): ProviderDeps {
  const states = options.states ?? new MemoryProviderStates();
  const environment = overrides.environment ?? 'staging';
  return {
    runId: 'run-1',
    clock: createRealClock(),
    log: silentLogger,
    environment,
    workDir: '.',
    secret: () => undefined,
    state: states.handle(options.key ?? 'provider'),
    shared: (family) => states.handle(`${family}@${environment}`),
    settings: (family) => options.settings?.[family],
    probe: (name) => {
      const answer = options.probes?.[name];
      if (!answer) return Promise.reject(new Error(`fakeDeps: no probe '${name}' in this test`));
      return Promise.resolve(typeof answer === 'function' ? answer() : answer);
    },
    ...overrides,
  };
}

export interface FakeContextOptions {
  stage?: string;
  step?: string;
  signal?: AbortSignal;
  env?: Record<string, string>;
  clock?: Clock;
  log?: Logger;
  /** Receives every change the provider reports. */
  changes?: Change[];
  /** Hides secrets in what the provider captures (default: nothing is hidden). */
  mask?: (text: string) => string;
  /** Holds the process groups of the commands in flight. */
  processes?: Set<number>;
}

export function fakeStepContext(options: FakeContextOptions = {}): StepContext {
  return {
    runId: 'run-1',
    stage: options.stage ?? 'canary',
    step: options.step ?? 'probes',
    signal: options.signal ?? new AbortController().signal,
    clock: options.clock ?? createRealClock(),
    log: options.log ?? silentLogger,
    env: { PATH: TEST_PATH, ...options.env },
    recordChange: (change) => options.changes?.push(change),
    mask: options.mask ?? ((text) => text),
    trackProcess: (pgid) => {
      options.processes?.add(pgid);
      return () => options.processes?.delete(pgid);
    },
    // As the engine gives every step: one context is one step.
    observed: new Map(),
  };
}
