import type { ProbeResult } from '../model/results.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { ProviderState } from './provider-state.js';
import type { StepContext } from './step-context.js';

/** What `create(config, deps)` of any implementation receives: injected, never global. */
export interface ProviderDeps {
  runId: string;
  clock: Clock;
  log: Logger;
  /** The environment the provider acts in (a stage's `environment`; the first one for run-wide providers). */
  environment: string;
  /** Folder of the workflow file: relative paths in the workflow are resolved against it. */
  workDir: string;
  /**
   * The value of a secret the provider's config names by environment variable (a `*Env` field,
   * such as `bearerTokenEnv: API_TOKEN`), or `undefined` when it is not set. Its value is masked in
   * every output. Commands never see these variables: this is how a provider reads its own.
   */
  secret(name: string): string | undefined;
  /**
   * The target of the stage this provider serves, as the workflow configures it (`type` and its
   * fields); `undefined` for run-wide providers (notifiers, audit sinks). A provider may default
   * to it, as a router or metrics that split or measure the service the stage's target deploys.
   */
  target?: { readonly type: string } & Readonly<Record<string, unknown>>;
  /**
   * This provider instance's own state in the run journal (see `ProviderState`): the target, the
   * router, a metric provider or probe of a stage's environment, a notifier or audit sink of the run.
   */
  state: ProviderState;
  /**
   * State shared by the providers of one family in this environment (a simulated world that a
   * family's target, router, probes and metrics all act on), under the family's name.
   */
  shared(family: string): ProviderState;
  /**
   * A family's workflow-level settings for this environment: `environments.NAME.<family>` when
   * set, else the top-level `<family>` block; `undefined` when neither is (see the families registry).
   */
  settings(family: string): unknown;
  /**
   * Measures one of the workflow's probes (declared under `probes`) in this environment, within
   * the probe's timeout and the 5 s snapshot deadline, recorded as evidence like any snapshot.
   * Only for probes the config names: the module's `probesNamed` lets validation check them.
   */
  probe(name: string, ctx: StepContext): Promise<ProbeResult>;
}
