import { z } from 'zod';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { type ConnectionConfig, connectionFields, prepareRequest, send } from './http-request.js';
import { valueOf } from './prometheus-result.js';

/*
 * An instant query over the Prometheus HTTP API (GET or POST /api/v1/query), shared by the
 * `prometheus` metric and probe. Works with anything that serves that API: Prometheus, Thanos,
 * Mimir, VictoriaMetrics, or a gateway in front of them.
 */

const API_PATH = '/api/v1/query';

/** The fields of a Prometheus connection, spread into the metric's and the probe's config schema. */
export const prometheusFields = (defaultTimeout: string) => ({
  url: z
    .string()
    .min(1)
    .refine(isHttpUrl, 'expected an http:// or https:// URL, such as http://prometheus:9090')
    .describe(`Base URL of the Prometheus API (http://prometheus:9090, or with a path prefix such as https://host/prometheus); ${API_PATH} is added`),
  method: z
    .enum(['GET', 'POST'])
    .default('POST')
    .describe('POST sends the query form-encoded in the body (no URL length limit); GET for a gateway that allows only GET'),
  ...connectionFields(defaultTimeout),
});

export interface PrometheusConnection extends ConnectionConfig {
  url: string;
  method: 'GET' | 'POST';
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The query endpoint under the base URL; a URL that already ends in it is kept. */
export function queryUrl(base: string): string {
  try {
    const url = new URL(base);
    if (!url.pathname.endsWith(API_PATH)) url.pathname = `${url.pathname.replace(/\/+$/, '')}${API_PATH}`;
    return url.toString();
  } catch {
    // prepareRequest reports the bad URL.
    return base;
  }
}

/**
 * Evaluates `query` now and returns its one value (see `valueOf` for what counts). Prometheus is
 * asked to stop evaluating at the same timeout, so an expensive query does not go on after we gave up.
 */
export async function queryPrometheus(
  config: PrometheusConnection,
  deps: ProviderDeps,
  query: string,
  ctx: Pick<StepContext, 'signal' | 'clock'>,
): Promise<number> {
  const request = prepareRequest('prometheus', queryUrl(config.url), config, deps);
  const params = new URLSearchParams({ query, timeout: `${config.timeout}ms` });
  // On a simulated clock "now" is not Prometheus' now: let the server use its own.
  if (!ctx.clock.simulated) params.set('time', (ctx.clock.now() / 1000).toFixed(3));
  let answer;
  if (config.method === 'GET') {
    for (const [name, value] of params) request.url.searchParams.set(name, value);
    answer = await send('prometheus', request, { method: 'GET' }, config.timeout, ctx.signal);
  } else {
    answer = await send('prometheus', request, { method: 'POST', body: params.toString(), contentType: 'application/x-www-form-urlencoded' }, config.timeout, ctx.signal);
  }
  return valueOf(answer, query, request.shown);
}
