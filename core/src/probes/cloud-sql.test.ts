import { afterEach, beforeEach, expect, it } from 'vitest';
import { fakeStepContext } from '../testing/fakes.js';
import { type GcpFixture, gcpFixture, PROJECT } from '../testing/gcp/fixture.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as cloudSql from './cloud-sql.js';

let gcp: GcpFixture;
beforeEach(async () => {
  gcp = await gcpFixture();
});
afterEach(() => gcp.cleanup());

const check = (instance: string) =>
  cloudSql.create(cloudSql.configSchema.parse({ type: 'cloud-sql', instance }), gcp.deps(new MemoryProviderStates())).check(fakeStepContext({ clock: gcp.clock, env: gcp.env }));

it('RUNNABLE is ok, with the activation policy, version and a scheduled maintenance in details', async () => {
  gcp.server.sql.set(PROJECT, 'orders', { state: 'RUNNABLE', maintenanceAt: '2026-12-05T02:00:00Z' });
  expect(await check('orders')).toMatchObject({
    ok: true,
    value: 'RUNNABLE',
    details: { activationPolicy: 'ALWAYS', databaseVersion: 'POSTGRES_16', scheduledMaintenance: '2026-12-05T02:00:00Z' },
  });
});

it('every other state, a stopped instance and one that cannot be read are ok: false, saying why', async () => {
  const describe = `gcloud sql instances describe orders --project ${PROJECT}`;
  const next = {
    MAINTENANCE: `it is in its maintenance window: wait for it to end and run again (${describe} shows the window)`,
    SUSPENDED: `Cloud SQL suspends an instance for billing or policy reasons: check the project's billing account and ${describe}`,
    PENDING_CREATE: 'it is still being created: wait and run again',
    FAILED: `check it (${describe}) and the instance's operations (gcloud sql operations list --instance orders --project ${PROJECT})`,
  } as const;
  for (const state of ['SUSPENDED', 'PENDING_CREATE', 'MAINTENANCE', 'FAILED'] as const) {
    gcp.server.sql.set(PROJECT, 'orders', { state });
    expect(await check('orders')).toMatchObject({ ok: false, value: state, error: `cloud-sql probe: instance ${PROJECT}/orders is ${state}, not RUNNABLE; ${next[state]}` });
  }
  gcp.server.sql.set(PROJECT, 'orders', { state: 'RUNNABLE', activationPolicy: 'NEVER' });
  expect((await check('orders')).error).toBe(
    `cloud-sql probe: instance ${PROJECT}/orders is stopped (activation policy NEVER); start it (gcloud sql instances patch orders --activation-policy=ALWAYS)`,
  );
  expect(await check('missing')).toMatchObject({
    ok: false,
    value: null,
    error: `cloud-sql probe: cannot read the Cloud SQL instance ${PROJECT}/missing: permission denied (HTTP 403 PERMISSION_DENIED): The client is not authorized to make this request.; grant the permission to the identity rollgate runs as`,
  });
});
