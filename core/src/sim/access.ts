import type { ProviderDeps } from '../ports/provider-deps.js';
import { simConfigSchema, type SimConfig } from './config.js';
import { name } from './family.js';
import { createSimWorld, type SimWorld } from './world.js';

/**
 * The simulated world of the provider's environment, shared by every sim provider there: made
 * once per process from the environment's `sim` settings and what the journal kept of it (a
 * resumed run sees the same world), and kept in the journal at every write.
 */
export function worldOf(deps: ProviderDeps): SimWorld {
  return deps.shared(name).live((kept) => createSimWorld(settingsOf(deps), deps.clock, kept));
}

/** The environment's `sim` settings (its own block, else the top-level one, else the defaults). */
export function settingsOf(deps: ProviderDeps): SimConfig {
  return (deps.settings(name) as SimConfig | undefined) ?? simConfigSchema.parse({});
}
