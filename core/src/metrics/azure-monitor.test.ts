import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NoDataError, ProviderError } from '../errors.js';
import { type ArmFixture, armFixture, RESOURCE_GROUP, SUBSCRIPTION } from '../testing/azure/base/fixture.js';
import { fakeStepContext } from '../testing/fakes.js';
import { MonitorDouble } from '../testing/azure/monitor.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as monitor from './azure-monitor.js';

/* What the azure-monitor provider asks Azure Monitor, how it combines the points, and what it says when it cannot. */
let azure: ArmFixture;
let metrics: MonitorDouble;
const app = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.App/containerApps/web`;
beforeEach(async () => {
  azure = await armFixture();
  metrics = new MonitorDouble(azure.server);
  // One value per minute: 1, 2, 3… counted from the epoch's minutes, so each window holds known points.
  metrics.metric(app, 'Requests', (at) => (at / 60_000) % 10);
});
afterEach(() => azure.cleanup());

const provider = (fields: Record<string, unknown> = {}, target: { type: string; app?: string } | undefined = { type: 'container-apps', app: 'web' }) =>
  monitor.create(monitor.configSchema.parse({ type: 'azure-monitor', ...fields }), azure.deps(new MemoryProviderStates(), target));
const ctx = () => fakeStepContext({ clock: azure.clock, env: azure.env });
const failure = async (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as Error);

describe('azure-monitor metric provider', () => {
  it('asks for the metric, the aggregation, the window ending at the last whole grain, and the filter', async () => {
    await provider().query("Requests:Total where statusCodeCategory eq '5xx'", ctx());
    const call = azure.server.calls.at(-1);
    expect(call?.path).toBe(`${app}/providers/Microsoft.Insights/metrics`);
    expect(call?.query).toEqual({
      'api-version': '2023-10-01',
      metricnames: 'Requests',
      aggregation: 'Total',
      timespan: '2025-12-31T23:55:00.000Z/2026-01-01T00:00:00.000Z',
      interval: 'PT1M',
      $filter: "statusCodeCategory eq '5xx'",
    });
  });

  it('combines the points of the window by the aggregation', async () => {
    // The five minutes before 00:00 are minutes 5 to 9 of their ten: 5, 6, 7, 8, 9.
    expect(await provider().query('Requests:Total', ctx())).toBe(35);
    expect(await provider().query('Requests:Average', ctx())).toBe(7);
    expect(await provider().query('Requests:Maximum', ctx())).toBe(9);
    expect(await provider().query('Requests:minimum', ctx())).toBe(5);
    expect(await provider({ aggregation: 'Maximum' }).query('Requests', ctx())).toBe(9);
  });

  it('reads the resource it is given', async () => {
    const other = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-data/providers/Microsoft.DBforPostgreSQL/flexibleServers/db`;
    metrics.metric(other, 'cpu_percent', () => 42);
    expect(await provider({ resourceId: other }, undefined).query('cpu_percent:Average', ctx())).toBe(42);
  });

  it('no series and no point are no data, saying which', async () => {
    metrics.metric(app, 'Empty', () => undefined);
    metrics.metric(app, 'Unseen', () => null);
    const none = await failure(provider().query('Empty:Total', ctx()));
    expect(none).toBeInstanceOf(NoDataError);
    expect(none?.message).toBe('azure-monitor: no data point for Empty (Total) of web in the last 5m');
    const unseen = await failure(provider().query("Unseen where revisionName eq 'web--v9'", ctx()));
    expect(unseen?.message).toBe("azure-monitor: no time series for Unseen (Average, where revisionName eq 'web--v9') of web in the last 5m (no such dimension value, or nothing reported it yet)");
  });

  it('an unknown metric, a bad query, an unknown aggregation and no resource are said', async () => {
    const unknown = await failure(provider().query('Requestz', ctx()));
    expect(unknown).toBeInstanceOf(ProviderError);
    expect(unknown).not.toBeInstanceOf(NoDataError);
    expect(unknown?.message).toContain('azure-monitor: cannot read the metric Requestz of containerApps web: refused (HTTP 400 BadRequest): Failed to find metric configuration');
    expect(unknown?.message).toContain('Valid metrics: Requests');
    expect((await failure(provider().query(':Total', ctx())))?.message).toMatch(/^azure-monitor: cannot read the query ':Total': expected NAME\[:AGGREGATION\]/);
    expect((await failure(provider().query('Requests:P95', ctx())))?.message).toBe("azure-monitor: the query 'Requests:P95' names the aggregation 'P95'; use one of Average, Total, Count, Minimum, Maximum");
    expect((await failure(provider({}, { type: 'kubernetes' }).query('Requests', ctx())))?.message).toBe("azure-monitor: no resource to read metrics of: give the metric provider a resourceId (the stage's target is not a container app)");
  });

  it('a throttled Azure Monitor is waited for as it asks', async () => {
    azure.server.throttle(2);
    const since = azure.clock.now();
    expect(await provider().query('Requests:Total', ctx())).toBe(35);
    expect(azure.clock.now() - since).toBe(2000);
  });
});
