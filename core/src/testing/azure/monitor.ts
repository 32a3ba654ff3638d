import type { ArmServer } from './arm-server.js';
import { armFault } from './arm-server.js';

/*
 * Azure Monitor metrics on the ARM double: `GET {resourceId}/providers/Microsoft.Insights/metrics`
 * (api-version 2023-10-01) with `metricnames`, `aggregation`, `timespan` (start/end), `interval`
 * (PT1M…) and `$filter`, answered with the documented shape: `value[]` of one metric with
 * `timeseries[].data[]` points `{timeStamp, <aggregation>}`, a point without the aggregation's
 * key where nothing was measured, and an empty `timeseries` when nothing matches the filter. A
 * metric the resource does not have is ARM's 400 BadRequest naming the valid ones. Values come
 * from the test: `metric(resource, name, sample)`, where `sample(at, filter)` gives the value of
 * the interval starting at `at`, or `undefined` (no data then), or `null` (no series at all).
 * Not covered: several metrics in one request, dimension splitting (`eq '*'`), top/orderby.
 */

export type Sample = (at: number, filter: string | undefined) => number | undefined | null;

const GRAINS: Record<string, number> = { PT1M: 60_000, PT5M: 300_000, PT15M: 900_000, PT30M: 1_800_000, PT1H: 3_600_000, PT6H: 21_600_000, PT12H: 43_200_000, P1D: 86_400_000 };

export class MonitorDouble {
  private readonly metrics = new Map<string, Map<string, Sample>>();

  constructor(readonly server: ArmServer) {
    server.route('GET', '/subscriptions/:sub/resourceGroups/:rg/providers/:ns/:type/:name/providers/Microsoft.Insights/metrics', ({ path, query }) => {
      const resource = path.replace(/\/providers\/Microsoft\.Insights\/metrics$/i, '').toLowerCase();
      const known = this.metrics.get(resource);
      const name = query.metricnames ?? '';
      const sample = known ? [...known.entries()].find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1] : undefined;
      if (!sample) {
        throw armFault(400, 'BadRequest', `Failed to find metric configuration for provider: ${path.split('/')[6]}, resource Type: ${path.split('/')[7]}, metric: ${name}, Valid metrics: ${[...(known?.keys() ?? [])].join(',')}`);
      }
      const [from, to] = (query.timespan ?? '').split('/').map((t) => Date.parse(t));
      const grain = GRAINS[query.interval ?? 'PT1M'];
      if (from === undefined || to === undefined || Number.isNaN(from) || Number.isNaN(to) || !grain) {
        throw armFault(400, 'BadRequest', `Invalid timespan '${query.timespan ?? ''}' or interval '${query.interval ?? ''}'.`);
      }
      const aggregation = (query.aggregation ?? 'Average').toLowerCase();
      const filter = query.$filter;
      const data: Record<string, unknown>[] = [];
      let series = false;
      for (let at = from; at < to; at += grain) {
        const value = sample(at, filter);
        if (value === null) continue;
        series = true;
        data.push({ timeStamp: new Date(at).toISOString(), ...(value === undefined ? {} : { [aggregation]: value }) });
      }
      return {
        status: 200,
        body: {
          cost: 0,
          timespan: query.timespan,
          interval: query.interval,
          value: [
            {
              id: `${path}/${name}`,
              type: 'Microsoft.Insights/metrics',
              name: { value: name, localizedValue: name },
              unit: 'Count',
              timeseries: series ? [{ metadatavalues: [], data }] : [],
              errorCode: 'Success',
            },
          ],
          namespace: `${path.split('/')[6]}/${path.split('/')[7]}`,
          resourceregion: 'westeurope',
        },
      };
    });
  }

  /** Declares metric `name` of `resourceId`, its values given by `sample`. */
  metric(resourceId: string, name: string, sample: Sample): void {
    const key = resourceId.toLowerCase();
    const known = this.metrics.get(key) ?? new Map<string, Sample>();
    known.set(name, sample);
    this.metrics.set(key, known);
  }
}
