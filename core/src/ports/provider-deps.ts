import type { SimWorld } from '../sim/world.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/** What `create(config, deps)` of any implementation receives: injected, never global. */
export interface ProviderDeps {
  runId: string;
  clock: Clock;
  log: Logger;
  /** The environment the provider acts in (a stage's `environment`; the first one for run-wide providers). */
  environment: string;
  /** Folder of the workflow file: relative paths in the workflow are resolved against it. */
  workDir: string;
  /** The simulated infrastructure of that environment; created on first use. */
  sim(): SimWorld;
}
