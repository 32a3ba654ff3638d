import { NoDataError, ProviderError } from '../../errors.js';
import { type Reducer, reduceValues } from './query.js';

/*
 * One number out of a `timeseries_response`: `{data: {attributes: {series, times, values}}}`, one
 * series per formula (or query) and group, `values[i]` the points of `series[i]`, null where
 * nothing was reported in that interval. No series, or only nulls, is no data, never zero.
 * Several series are an error: analysis compares one number, and picking one silently would
 * judge the wrong thing.
 */

interface Answer {
  data?: { attributes?: { series?: Array<{ group_tags?: string[] }>; times?: number[]; values?: Array<Array<number | null>> } };
  errors?: unknown;
}

export function valueOf(body: unknown, shown: string, windowText: string, reduce: Reducer): number {
  const answer = (body ?? {}) as Answer;
  const attributes = answer.data?.attributes;
  if (!attributes || typeof attributes !== 'object') {
    throw new ProviderError(`datadog: the answer to ${shown} is not a timeseries_response (no data.attributes); is endpoint the Datadog API?`);
  }
  const series = attributes.series ?? [];
  const said = typeof answer.errors === 'string' && answer.errors ? ` (Datadog said: ${answer.errors})` : '';
  if (series.length === 0) {
    throw new NoDataError(
      `datadog: no data: ${shown} returned no series in the last ${windowText}${said}; check the metric name and tags, and that the service reports (gets traffic)`,
    );
  }
  if (series.length > 1) {
    const groups = series.slice(0, 3).map((s) => (s.group_tags?.length ? s.group_tags.join(',') : '*'));
    throw new ProviderError(
      `datadog: ${shown} returned ${series.length} series (${groups.join('; ')}${series.length > 3 ? '; …' : ''}); analysis needs one number: aggregate them (drop the "by {…}" grouping)`,
    );
  }
  const points = (attributes.values?.[0] ?? []).filter((v): v is number => typeof v === 'number');
  const value = reduceValues(points, reduce);
  if (value === undefined) {
    throw new NoDataError(`datadog: no data: ${shown} has a series but no point in the last ${windowText}${said}; the service may get no traffic yet`);
  }
  if (!Number.isFinite(value)) throw new ProviderError(`datadog: ${shown} gave ${value}, not a finite number`);
  return value;
}
