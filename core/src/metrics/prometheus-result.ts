import { NoDataError, ProviderError } from '../errors.js';
import { type HttpAnswer, retryableStatus, snippet } from './http-request.js';

/*
 * One number out of a Prometheus HTTP API answer (`/api/v1/query`), shared by the `prometheus`
 * metric and probe. The envelope is `{status, data: {resultType, result}, errorType, error}` and
 * sample values are strings so NaN and ±Inf can travel. An empty vector is a success to
 * Prometheus; here it is "no data", never zero. Several series are an error: analysis compares one
 * number, and picking one of them silently would judge the wrong thing.
 */

interface Envelope {
  status?: unknown;
  errorType?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

interface VectorSample {
  metric?: Record<string, string>;
  value?: [number, string];
  histogram?: unknown;
}

/** Error types Prometheus gives for trouble that may pass: a slow or restarting server. */
const TRANSIENT_ERROR_TYPES = new Set(['timeout', 'canceled', 'unavailable', 'internal']);

/** A query for messages: on one line, cut when long. */
export function shownQuery(query: string): string {
  return JSON.stringify(snippet(query, 160));
}

/**
 * The value `answer` holds for `query`. Throws `NoDataError` for an empty vector and
 * `ProviderError` for everything else that is not one finite number (retryable for 5xx and the
 * error types of an overloaded server).
 */
export function valueOf(answer: HttpAnswer, query: string, shown: string): number {
  const q = shownQuery(query);
  let body: Envelope;
  try {
    body = JSON.parse(answer.text) as Envelope;
  } catch {
    throw new ProviderError(`prometheus: ${shown} answered ${statusLine(answer)}${hint(answer.status)}, not the JSON of the Prometheus API${answer.text.trim() ? `: ${snippet(answer.text)}` : ''}`, {
      retryable: retryableStatus(answer.status),
    });
  }
  if (body === null || typeof body !== 'object' || (body.status !== 'success' && body.status !== 'error')) {
    throw new ProviderError(`prometheus: ${shown} answered ${statusLine(answer)} without a Prometheus API envelope ({status, data}): is url the Prometheus server's base URL?`, {
      retryable: retryableStatus(answer.status),
    });
  }
  if (body.status === 'error' || answer.status >= 300) {
    const errorType = typeof body.errorType === 'string' ? body.errorType : 'error';
    const error = typeof body.error === 'string' ? body.error : snippet(answer.text);
    throw new ProviderError(`prometheus: query ${q} failed: ${statusLine(answer)}, ${errorType}: ${error}`, {
      retryable: retryableStatus(answer.status) || TRANSIENT_ERROR_TYPES.has(errorType),
    });
  }
  const { resultType, result } = body.data ?? {};
  switch (resultType) {
    case 'vector':
      return vectorValue(Array.isArray(result) ? (result as VectorSample[]) : [], q);
    case 'scalar':
      return sampleValue((result as [number, string] | undefined)?.[1], q, 'the scalar');
    case 'matrix':
      throw new ProviderError(
        `prometheus: query ${q} returned a range vector (matrix): analysis needs one number now; wrap the range in a function such as rate(...[5m]) or avg_over_time(...[5m])`,
      );
    default:
      throw new ProviderError(`prometheus: query ${q} returned a ${String(resultType)}, not a number: write a query that gives an instant vector or a scalar`);
  }
}

function vectorValue(samples: VectorSample[], q: string): number {
  if (samples.length === 0) {
    throw new NoDataError(
      `prometheus: no data: query ${q} returned an empty vector (no series matched, or none had a sample in the lookback window); check the metric and label names, and that the service gets traffic`,
    );
  }
  if (samples.length > 1) {
    const shown = samples.slice(0, 5).map((s) => seriesName(s.metric ?? {}));
    const more = samples.length > 5 ? `, and ${samples.length - 5} more` : '';
    throw new ProviderError(
      `prometheus: query ${q} returned ${samples.length} series (${shown.join(', ')}${more}), but analysis needs one number: aggregate them, as in sum(...) or avg(...), or select one series with label matchers`,
    );
  }
  const sample = samples[0] as VectorSample;
  if (sample.value === undefined && sample.histogram !== undefined) {
    throw new ProviderError(`prometheus: query ${q} returned a native histogram, not a number: use histogram_quantile(), histogram_count() or histogram_sum()`);
  }
  return sampleValue(sample.value?.[1], q, seriesName(sample.metric ?? {}));
}

function sampleValue(text: string | undefined, q: string, what: string): number {
  const value = typeof text === 'string' ? Number(text) : NaN;
  if (Number.isFinite(value)) return value;
  if (text === 'NaN') {
    throw new ProviderError(
      `prometheus: query ${q} returned NaN for ${what}: a division of zero by zero, such as an error rate over zero requests (no traffic in the range); ` +
        'send traffic first, or guard the query (… and sum(rate(requests[5m])) > 0) and choose onNoData',
    );
  }
  if (text === '+Inf' || text === '-Inf') {
    throw new ProviderError(`prometheus: query ${q} returned ${text} for ${what}: a division by zero (the denominator of the query is 0); guard it with … and denominator > 0`);
  }
  throw new ProviderError(`prometheus: query ${q} returned ${JSON.stringify(text ?? null)} for ${what}, not a number`);
}

/** `app_requests_total{code="500", version="v2"}`: a series as PromQL writes it. */
export function seriesName(labels: Record<string, string>): string {
  const { __name__: name = '', ...rest } = labels;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name}{${pairs.join(', ')}}`;
}

function statusLine(answer: HttpAnswer): string {
  return `${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}`;
}

function hint(status: number): string {
  if (status === 401 || status === 403) return ' (check the credentials: username/passwordEnv, bearerTokenEnv or headers)';
  if (status === 404) return " (is url the Prometheus server's base URL, such as http://prometheus:9090?)";
  return '';
}
