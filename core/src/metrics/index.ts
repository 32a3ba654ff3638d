import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderModule } from '../registry/module.js';
import * as azureMonitor from './azure-monitor.js';
import * as cloudMonitoring from './cloud-monitoring.js';
import * as cloudwatch from './cloudwatch.js';
import * as command from './command.js';
import * as datadog from './datadog.js';
import * as http from './http.js';
import * as prometheus from './prometheus.js';
import * as sim from './sim.js';

/** Every metric provider by its `type`: the one list the schema and the docs read. */
export const metricProviders = { sim, prometheus, http, command, datadog, cloudwatch, 'cloud-monitoring': cloudMonitoring, 'azure-monitor': azureMonitor } satisfies Record<string, ProviderModule<MetricProvider>>;
export type MetricProviderType = keyof typeof metricProviders;

/** The metric providers a workflow has when it names none: the one analyses use by default. */
export const defaultMetricProviders = { sim: { type: 'sim' as const } };
