import { z } from 'zod';
import { CloudError } from '../cloud/retrying.js';
import { type RestService, restCall } from '../cloud/rest.js';
import { duration, envVarName } from '../config/fields.js';
import { ProviderError } from '../errors.js';
import type { MetricProvider } from '../ports/metric-provider.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { formatLimit } from '../util/command-runner.js';
import { parseQuery, REDUCERS } from './datadog/query.js';
import { valueOf } from './datadog/result.js';
import { shownQuery } from './prometheus-result.js';

/*
 * Datadog metrics through the v2 timeseries query API (POST /api/v2/query/timeseries). v2 rather
 * than v1's GET /api/v1/query: it takes formulas over named queries (an error ratio is one
 * request), the query travels in a JSON body (no URL length limit, nothing in access logs), and
 * scoped application keys are allowed on it. The window ends now on the step's clock.
 */

export const type = 'datadog';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    site: z
      .string()
      .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'expected a Datadog site such as datadoghq.com, datadoghq.eu or us5.datadoghq.com')
      .optional()
      .describe('Datadog site (datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, ddog-gov.com…); default: DD_SITE of the runner, else datadoghq.com'),
    endpoint: z.url({ protocol: /^https?$/ }).optional().describe('Base URL of the API instead of https://api.<site> (a proxy, or a local double)'),
    apiKeyEnv: envVarName('Environment variable holding the Datadog API key (sent as DD-API-KEY)').default('DD_API_KEY'),
    appKeyEnv: envVarName('Environment variable holding the application key (sent as DD-APPLICATION-KEY); its owner needs the timeseries_query permission').default('DD_APP_KEY'),
    lookback: duration('The window a query reads, ending now').prefault('5m'),
    reduce: z
      .enum(REDUCERS)
      .default('avg')
      .describe("How the window's points become one number: avg (default), last, min, max or sum of the non-null points; a query's own `reduce:` wins"),
    timeout: duration('Give up on one request after this long').prefault('30s'),
  })
  .refine((c) => !(c.site && c.endpoint), { message: 'give site or endpoint, not both', path: ['endpoint'] })
  .describe(
    'Evaluates a Datadog metrics query (the metric\'s `query`: one query, or YAML `formula:` over named `queries:`) over the last `lookback` and reduces its points to one number. No series, or only empty points, is no data (see onNoData), never 0; several series are an error.',
  );
export type DatadogMetricConfig = z.output<typeof configSchema>;

export function create(config: DatadogMetricConfig, deps: ProviderDeps): MetricProvider {
  const key = (name: string, field: string) => {
    const value = deps.secret(name);
    if (!value) throw new ProviderError(`datadog: environment variable ${name} is not set (${field}); export the key in the CI job's secrets`);
    return value;
  };
  const service: RestService = {
    name: 'datadog',
    headers: () => ({ 'dd-api-key': key(config.apiKeyEnv, 'apiKeyEnv'), 'dd-application-key': key(config.appKeyEnv, 'appKeyEnv') }),
  };
  return {
    type,
    async query(query, ctx) {
      const parsed = parseQuery(query);
      const shown = `query ${shownQuery(query)}`;
      const site = siteOf(config, ctx);
      const base = config.endpoint ?? `https://api.${site}`;
      const to = ctx.clock.now();
      const request = {
        method: 'POST' as const,
        url: `${base.replace(/\/+$/, '')}/api/v2/query/timeseries`,
        body: {
          data: { type: 'timeseries_request', attributes: { from: to - config.lookback, to, queries: parsed.queries, ...(parsed.formulas ? { formulas: parsed.formulas } : {}) } },
        },
        what: `run ${shown}`,
      };
      const response = await call(request, ctx, site);
      return valueOf(response.body, shown, formatLimit(config.lookback), parsed.reduce ?? config.reduce);
    },
  };

  async function call(request: Parameters<typeof restCall>[1], ctx: StepContext, site: string) {
    const deadline = AbortSignal.timeout(config.timeout);
    const bounded = { ...ctx, signal: AbortSignal.any([ctx.signal, deadline]) };
    try {
      return await restCall<unknown>(service, request, bounded);
    } catch (err) {
      if (deadline.aborted && !ctx.signal.aborted) {
        throw new ProviderError(`datadog: no answer from ${new URL(request.url).host} within ${formatLimit(config.timeout)} to ${request.what}; is the API slow, or the timeout too short?`, {
          retryable: true,
          cause: err,
        });
      }
      throw explained(err, site);
    }
  }

  /** 401 and 403 in Datadog's words: which key, which site, which permission. */
  function explained(err: unknown, site: string): unknown {
    if (!(err instanceof CloudError)) return err;
    const where = config.endpoint ? new URL(config.endpoint).host : `site ${site}`;
    if (err.status === 401) {
      return new CloudError(
        `datadog: the API key (${config.apiKeyEnv}) or application key (${config.appKeyEnv}) was refused by ${where} (HTTP 401): check both hold valid keys of that site (a key of another site, such as datadoghq.eu, is refused) and were not revoked`,
        { status: 401, cause: err },
      );
    }
    if (err.status === 403) {
      return new CloudError(
        `datadog: the application key (${config.appKeyEnv}) may not query metrics (HTTP 403 Forbidden): its owner's role, or the key's scopes, need the timeseries_query permission`,
        { status: 403, cause: err },
      );
    }
    return err;
  }
}

function siteOf(config: DatadogMetricConfig, ctx: StepContext): string {
  if (config.site) return config.site;
  // DD_SITE is sometimes written as the web app's host (app.datadoghq.com): the API is on api.<site>.
  const site = (ctx.env.DD_SITE ?? '').trim().replace(/^(https?:\/\/)?(app\.|api\.)?/, '').replace(/\/+$/, '');
  if (site === '') return 'datadoghq.com';
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(site)) throw new ProviderError('datadog: DD_SITE is not a Datadog site (such as datadoghq.com or datadoghq.eu); fix it, or set `site` in the metric provider');
  return site;
}
