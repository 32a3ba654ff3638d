import { afterEach, beforeEach, expect, it } from 'vitest';
import { NoDataError, ProviderError } from '../errors.js';
import { fakeStepContext } from '../testing/fakes.js';
import { type GcpFixture, gcpFixture, PROJECT } from '../testing/gcp/fixture.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as cloudMonitoring from './cloud-monitoring.js';

let gcp: GcpFixture;
beforeEach(async () => {
  gcp = await gcpFixture();
});
afterEach(() => gcp.cleanup());

const query = (q: string) =>
  cloudMonitoring.create(cloudMonitoring.configSchema.parse({ type: 'cloud-monitoring' }), gcp.deps(new MemoryProviderStates())).query(q, fakeStepContext({ clock: gcp.clock, env: gcp.env }));
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as ProviderError);

it('asks the project of the gcp block, with the query in the body', async () => {
  gcp.server.monitoring.on('up', 1);
  expect(await query('up')).toBe(1);
  expect(gcp.server.calls.at(-1)).toMatchObject({ method: 'POST', path: `/v1/projects/${PROJECT}/location/global/prometheus/api/v1/query`, body: { query: 'up' } });
});

it('an empty vector is no data, named as this provider; a refused query says what Cloud Monitoring said', async () => {
  const empty = await failure(query('sum(rate(x[5m]))'));
  expect(empty).toBeInstanceOf(NoDataError);
  expect(empty?.message).toMatch(/^cloud-monitoring: no data: query "sum\(rate\(x\[5m\]\)\)" returned an empty vector/);
  gcp.server.monitoring.on('sum(', { error: '1:5: parse error: unclosed left parenthesis', errorType: 'bad_data' });
  const bad = await failure(query('sum('));
  expect(bad).toBeInstanceOf(ProviderError);
  expect(bad?.message).toContain(`cloud-monitoring: cannot run the PromQL query "sum(" in project ${PROJECT}: refused (HTTP 400`);
  expect(bad?.message).toContain('1:5: parse error: unclosed left parenthesis');
});
