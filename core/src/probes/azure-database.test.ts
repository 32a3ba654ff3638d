import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ArmFixture, armFixture, RESOURCE_GROUP } from '../testing/azure/base/fixture.js';
import { DatabasesDouble } from '../testing/azure/databases.js';
import { contractCall } from '../testing/contracts/kit.js';
import { MemoryProviderStates } from '../testing/state.js';
import * as azureDatabase from './azure-database.js';

let azure: ArmFixture;
let databases: DatabasesDouble;
beforeEach(async () => {
  azure = await armFixture();
  databases = new DatabasesDouble(azure.server);
});
afterEach(() => azure.cleanup());

async function check(fields: Record<string, unknown>) {
  const probe = azureDatabase.create(azureDatabase.configSchema.parse({ type: 'azure-database', ...fields }), azure.deps(new MemoryProviderStates()));
  return probe.check(contractCall({ clock: azure.clock, env: azure.env }).ctx);
}

describe('azure-database probe', () => {
  it('a Ready PostgreSQL flexible server is ok, with its high availability in the details', async () => {
    databases.set('postgres', RESOURCE_GROUP, 'orders', { state: 'Ready', highAvailability: { mode: 'ZoneRedundant', state: 'Healthy', standbyAvailabilityZone: '2' }, availabilityZone: '1' });
    const result = await check({ server: 'orders', kind: 'postgres-flexible' });
    expect(result).toMatchObject({ ok: true, value: 'Ready', details: { state: 'Ready', haMode: 'ZoneRedundant', haState: 'Healthy', standbyZone: '2', zone: '1' } });
    expect(azure.server.calls.at(-1)?.path).toBe(`/subscriptions/${azure.settings.subscriptionId}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders`);
  });

  it('a flexible server being updated or stopped is not ok, and says so', async () => {
    databases.set('mysql', RESOURCE_GROUP, 'shop', { state: 'Updating', highAvailability: { mode: 'SameZone', state: 'FailingOver' } });
    const result = await check({ server: 'shop', kind: 'mysql-flexible' });
    expect(result).toMatchObject({ ok: false, value: 'Updating', details: { haState: 'FailingOver' }, error: 'azure-database probe: MySQL flexible server shop is Updating, not Ready; wait for the operation in progress to end and run again (az mysql flexible-server show --name shop)' });
    databases.set('postgres', RESOURCE_GROUP, 'orders', { state: 'Stopped' });
    expect((await check({ server: 'orders', kind: 'postgres-flexible' })).error).toBe('azure-database probe: PostgreSQL flexible server orders is Stopped, not Ready; start it (az postgres flexible-server start --name orders) and run again');
    databases.set('mysql', RESOURCE_GROUP, 'shop', { state: 'Stopped' });
    expect((await check({ server: 'shop', kind: 'mysql-flexible', resourceGroup: RESOURCE_GROUP })).error).toBe(
      `azure-database probe: MySQL flexible server shop is Stopped, not Ready; start it (az mysql flexible-server start --name shop --resource-group ${RESOURCE_GROUP}) and run again`,
    );
  });

  it('an SQL database is ok when Online, not when Paused', async () => {
    databases.set('sql', RESOURCE_GROUP, 'sqlsrv/orders', { status: 'Online', currentServiceObjectiveName: 'GP_S_Gen5_2' });
    expect(await check({ server: 'sqlsrv', kind: 'sql', database: 'orders' })).toMatchObject({ ok: true, value: 'Online', details: { serviceObjective: 'GP_S_Gen5_2' } });
    databases.set('sql', RESOURCE_GROUP, 'sqlsrv/orders', { status: 'Paused' });
    expect((await check({ server: 'sqlsrv', kind: 'sql', database: 'orders' })).error).toBe(
      'azure-database probe: SQL database sqlsrv/orders is Paused, not Online; a serverless database resumes on its first connection: connect to it once (or run again after it resumes), or turn off auto-pause',
    );
    databases.set('sql', RESOURCE_GROUP, 'sqlsrv/orders', { status: 'Scaling' });
    expect((await check({ server: 'sqlsrv', kind: 'sql', database: 'orders' })).error).toBe(
      'azure-database probe: SQL database sqlsrv/orders is Scaling, not Online; wait for it to become Online and run again (az sql db show --server sqlsrv --name orders)',
    );
  });

  it('kind sql needs a database', () => {
    const parsed = azureDatabase.configSchema.safeParse({ type: 'azure-database', server: 'sqlsrv', kind: 'sql' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['database'], message: 'kind sql reads one database: give database' });
  });

  it('a server that does not exist says what to check', async () => {
    const result = await check({ server: 'nope', kind: 'postgres-flexible', resourceGroup: 'rg-other' });
    expect(result).toMatchObject({ ok: false, value: null });
    expect(result.error).toBe(
      "azure-database probe: PostgreSQL flexible server nope does not exist (HTTP 404): check the name, kind and resource group (the probe's resourceGroup, else azure.resourceGroup)",
    );
  });

  it('throttled reads (429 with Retry-After) are retried and measure', async () => {
    databases.set('postgres', RESOURCE_GROUP, 'orders', { state: 'Ready' });
    azure.server.throttle(2);
    expect((await check({ server: 'orders', kind: 'postgres-flexible', timeout: '30s' })).ok).toBe(true);
    expect(azure.server.throttled).toBe(2);
  });

  it('refused credentials are a failed measure naming the call, with no secret in it', async () => {
    databases.set('postgres', RESOURCE_GROUP, 'orders', { state: 'Ready' });
    expect((await check({ server: 'orders', kind: 'postgres-flexible' })).ok).toBe(true);
    azure.server.expireTokens();
    azure.server.refuseTokens();
    const result = await check({ server: 'orders', kind: 'postgres-flexible' });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^azure-database probe: cannot read PostgreSQL flexible server orders: azure: credentials from environment \(AZURE_CLIENT_SECRET\) were refused \(HTTP 401.*AADSTS7000222.*check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET/);
    for (const secret of [azure.env.AZURE_CLIENT_SECRET as string, ...azure.server.identity.issued]) expect(JSON.stringify(result)).not.toContain(secret);
  });
});
