import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsClient, awsSend, sdk as awsSdk } from '../../aws/client.js';
import { callWithRetry, CloudError } from '../../cloud/retrying.js';
import { NoDataError, ProviderError } from '../../errors.js';
import type { ProviderDeps } from '../../ports/provider-deps.js';
import type { StepContext } from '../../ports/step-context.js';
import type { MetricDataQuery } from './query.js';

/*
 * GetMetricData for one answer: every page read (NextToken), the answer's datapoints merged, and
 * the result's StatusCode judged: Forbidden is a permission to grant, InternalError is retried as
 * a throttled call is, PartialData is followed by its NextToken (and kept as it is when there is
 * none). Shared by the `cloudwatch` metric provider and the `aws-quota` probe's usage.
 */

const sdk = () => awsSdk(import('@aws-sdk/client-cloudwatch'));
/** Pages read at most for one answer: a window of one or a few datapoints needs one. */
const MAX_PAGES = 20;

export type CloudWatchClients = (ctx: StepContext) => Promise<CloudWatchClient>;

/** A lazily made CloudWatch client of one provider. */
export function cloudWatchClient(deps: ProviderDeps): CloudWatchClients {
  return awsClient(deps, 'cloudwatch', async () => (await sdk()).CloudWatchClient);
}

export interface Window {
  startMs: number;
  endMs: number;
}

/** The window of `lookbackMs` ending at the last whole minute before now (the current one is still filling). */
export function windowEndingNow(ctx: StepContext, lookbackMs: number): Window {
  const endMs = Math.floor(ctx.clock.now() / 60_000) * 60_000;
  return { startMs: endMs - lookbackMs, endMs };
}

/** The datapoints of query `id`, newest first; `service` names the provider in messages. */
export async function metricData(
  clients: CloudWatchClients,
  request: { queries: MetricDataQuery[]; id: string; shown: string; window: Window },
  ctx: StepContext,
  service: string,
): Promise<Array<{ at: number; value: number }>> {
  const what = `read ${request.shown}`;
  return callWithRetry(
    async () => {
      const [client, { GetMetricDataCommand }] = await Promise.all([clients(ctx), sdk()]);
      const points: Array<{ at: number; value: number }> = [];
      const labels = new Set<string>();
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const command = new GetMetricDataCommand({
          MetricDataQueries: request.queries,
          StartTime: new Date(request.window.startMs),
          EndTime: new Date(request.window.endMs),
          ScanBy: 'TimestampDescending',
          ...(token ? { NextToken: token } : {}),
        });
        // One attempt here: the loop around retries throttling and InternalError alike, once.
        const answer = await denied(awsSend(client, command, { service, what, ctx, attempts: 1 }), service, what);
        for (const result of answer.MetricDataResults ?? []) {
          if (result.Id !== request.id) continue;
          judge(result.StatusCode, result.Messages, service, request.shown);
          labels.add(result.Label ?? '');
          const times = result.Timestamps ?? [];
          (result.Values ?? []).forEach((value, i) => points.push({ at: times[i]?.getTime() ?? 0, value }));
        }
        token = answer.NextToken;
        if (!token) break;
      }
      if (labels.size > 1) {
        throw new ProviderError(`${service}: ${request.shown} gave ${labels.size} time series (${[...labels].slice(0, 3).join('; ')}); analysis needs one number: aggregate them, such as SUM(SEARCH(...))`);
      }
      return points.sort((a, b) => b.at - a.at);
    },
    { service, what, ctx },
  );
}

/** The newest datapoint of `points`, or `NoDataError` saying where nothing was found. */
export function latest(points: Array<{ at: number; value: number }>, shown: string, window: Window, service: string): number {
  const newest = points[0];
  if (!newest) {
    throw new NoDataError(
      `${service}: no data: ${shown} has no datapoint between ${clock(window.startMs)} and ${clock(window.endMs)} UTC; check the namespace, the metric name and every dimension (CloudWatch matches the exact set), and that the service reports`,
    );
  }
  if (!Number.isFinite(newest.value)) throw new ProviderError(`${service}: ${shown} gave ${newest.value}, not a finite number`);
  return newest.value;
}

function judge(status: string | undefined, messages: Array<{ Code?: string; Value?: string }> | undefined, service: string, shown: string): void {
  const said = (messages ?? []).map((m) => m.Value ?? m.Code).filter(Boolean).join('; ');
  if (status === 'Forbidden') {
    throw new CloudError(`${service}: not allowed to read ${shown} (StatusCode Forbidden${said ? `: ${said}` : ''}); grant cloudwatch:GetMetricData on it to the role rollgate runs as (for another account's metric, share it with this one)`, {
      code: 'Forbidden',
    });
  }
  if (status === 'InternalError') {
    throw new CloudError(`${service}: CloudWatch failed to read ${shown} (StatusCode InternalError${said ? `: ${said}` : ''})`, { code: 'InternalError', retryable: true });
  }
}

/** An AccessDenied names the IAM action to grant, whatever AWS's message says. */
async function denied<T>(call: Promise<T>, service: string, what: string): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof CloudError && /^AccessDenied/.test(err.code ?? '') && !err.message.includes('cloudwatch:GetMetricData')) {
      throw new CloudError(`${service}: cannot ${what}: access denied (${err.code}); grant cloudwatch:GetMetricData to the role rollgate runs as`, { code: err.code, ...(err.status !== undefined ? { status: err.status } : {}), cause: err });
    }
    throw err;
  }
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}
