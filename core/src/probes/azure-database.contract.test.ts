import { armFixture, RESOURCE_GROUP } from '../testing/azure/base/fixture.js';
import { DatabasesDouble } from '../testing/azure/databases.js';
import { describeProbeContract } from '../testing/contracts/probe.js';
import * as azureDatabase from './azure-database.js';

/* The azure-database probe against the ARM double: a Ready flexible server, a missing one, a read that never answers. */
describeProbeContract('azure-database', async () => {
  const azure = await armFixture();
  const databases = new DatabasesDouble(azure.server);
  databases.set('postgres', RESOURCE_GROUP, 'orders-db', { state: 'Ready', highAvailability: { mode: 'ZoneRedundant', state: 'Healthy', standbyAvailabilityZone: '2' } });
  databases.set('postgres', RESOURCE_GROUP, 'slow-db', { state: 'Ready' });
  const probe = (fields: Record<string, unknown>) => azureDatabase.configSchema.parse({ type: 'azure-database', kind: 'postgres-flexible', ...fields });
  return {
    clock: azure.clock,
    env: azure.env,
    deps: (states) => azure.deps(states),
    working: (deps) => azureDatabase.create(probe({ server: 'orders-db' }), deps),
    failing: (deps) => azureDatabase.create(probe({ server: 'missing-db' }), deps),
    hanging: (deps) => azureDatabase.create(probe({ server: 'slow-db', timeout: '1h' }), deps),
    hangingWaits: (abort) => {
      databases.hang('postgres', RESOURCE_GROUP, 'slow-db', abort);
      return {};
    },
    observe: () => azure.server.calls.filter((c) => c.method !== 'GET'),
    cleanup: azure.cleanup,
  };
});
