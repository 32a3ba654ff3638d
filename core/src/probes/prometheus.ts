import { z } from 'zod';
import { errorMessage, NoDataError } from '../errors.js';
import { checkConnection } from '../metrics/http-request.js';
import { prometheusFields, queryPrometheus } from '../metrics/prometheus-api.js';
import type { ProbeResult } from '../model/results.js';
import type { Probe } from '../ports/probe.js';
import type { ProviderDeps } from '../ports/provider-deps.js';

export const type = 'prometheus';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    query: z.string().min(1).describe('PromQL instant query that gives one number (one series or a scalar): it becomes `value`'),
    ...prometheusFields('2s'),
  })
  .superRefine(checkConnection)
  .describe('Evaluates a PromQL query; ok with its value, or ok: false when it has no data, several series, NaN, or Prometheus cannot be reached');
export type PrometheusProbeConfig = z.infer<typeof configSchema>;

export function create(config: PrometheusProbeConfig, deps: ProviderDeps): Probe {
  return {
    type,
    async check(ctx): Promise<ProbeResult> {
      const started = performance.now();
      const latencyMs = () => Math.round(performance.now() - started);
      try {
        const value = await queryPrometheus(config, deps, config.query, ctx);
        return { ok: true, value, latencyMs: latencyMs(), details: { noData: false } };
      } catch (err) {
        // Failures are data; `noData` lets a condition tell "no sample yet" from "down" (probes.NAME.noData).
        return { ok: false, value: null, latencyMs: latencyMs(), error: errorMessage(err), details: { noData: err instanceof NoDataError } };
      }
    },
  };
}
