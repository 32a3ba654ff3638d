import { describeProbeContract } from '../testing/contracts/probe.js';
import { gcpFixture, PROJECT } from '../testing/gcp/fixture.js';
import * as cloudSql from './cloud-sql.js';

/* The cloud-sql probe against the Google API double: a RUNNABLE instance, a FAILED one, and one whose read never answers. */
describeProbeContract('cloud-sql', async () => {
  const gcp = await gcpFixture();
  gcp.server.sql.set(PROJECT, 'orders', { state: 'RUNNABLE' });
  gcp.server.sql.set(PROJECT, 'broken', { state: 'FAILED' });
  const probe = (instance: string, timeout = '3s') => cloudSql.configSchema.parse({ type: 'cloud-sql', instance, timeout });
  return {
    clock: gcp.clock,
    env: gcp.env,
    deps: (states) => gcp.deps(states),
    working: (deps) => cloudSql.create(probe('orders'), deps),
    failing: (deps) => cloudSql.create(probe('broken'), deps),
    hanging: (deps) => cloudSql.create(probe('hung', '10m'), deps),
    hangingWaits: (abort) => gcp.server.hang(/\/instances\/hung$/, abort),
    observe: () => [...gcp.server.sql.instances.entries()],
    cleanup: gcp.cleanup,
  };
});
