import { simConfigSchema, type SimConfig } from './config.js';

/**
 * The simulation as a provider family: its settings (`sim:` at the top of the workflow, and per
 * environment under `environments.NAME.sim`, which replaces it) describe the simulated world of
 * an environment, which the sim target, router, probes and metrics share (`deps.shared('sim')`).
 */
export const name = 'sim';

export const settingsSchema = simConfigSchema;

/** `clock: real` runs a simulation in wall time; virtual (the default) makes waits cost nothing. */
export function clock(settings: unknown): 'virtual' | 'real' {
  return (settings as SimConfig).clock;
}
