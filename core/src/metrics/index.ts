import * as sim from './sim.js';

/** Every metric provider by its `type`. Adding one: a file, its test, one line here. */
export const metricProviders = { sim } as const;
export type MetricProviderType = keyof typeof metricProviders;
