import { afterAll } from 'vitest';
import { startPostgres } from '../../../tests/real/servers/postgres.js';
import { fakeDeps } from '../testing/fakes.js';
import { describeProbeContract } from '../testing/contracts/probe.js';
import * as postgres from './postgres.js';

// A real PostgreSQL 15 (Debian's `postgresql` package); a missing one fails this file.
const server = await startPostgres();
afterAll(() => server.stop());
await server.sql('CREATE TABLE schema_migrations (version bigint PRIMARY KEY); INSERT INTO schema_migrations VALUES (1), (2)', server.database);
await server.sql(`ALTER TABLE schema_migrations OWNER TO ${server.roles.scram.name}`, server.database);

const { name, password } = server.roles.scram;
const probe = (fields: Record<string, unknown>) =>
  postgres.configSchema.parse({ type: 'postgres', host: server.host, port: server.port, user: name, database: server.database, passwordEnv: 'PG_PASSWORD', ...fields });

describeProbeContract('postgres', () => ({
  deps: () => fakeDeps({ secret: (n) => (n === 'PG_PASSWORD' ? password : undefined) }),
  working: (deps) => postgres.create(probe({ query: 'SELECT max(version) FROM schema_migrations' }), deps),
  // A write: the read-only transaction refuses it, and `observe` shows the table unchanged.
  failing: (deps) => postgres.create(probe({ query: 'INSERT INTO schema_migrations VALUES (3)' }), deps),
  hanging: (deps) => postgres.create(probe({ query: 'SELECT pg_sleep(600)', timeout: '10m' }), deps),
  // Waiting means the server runs the statement: abort then, and it is cancelled there.
  hangingWaits: (abort) => {
    void (async () => {
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const running = await server.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rollgate' AND state = 'active' AND query LIKE '%pg_sleep(600)%'");
        if (running !== '0') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      abort();
    })();
  },
  observe: () => server.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations", server.database),
}));
