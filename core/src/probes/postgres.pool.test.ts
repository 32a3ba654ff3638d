import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../../tests/real/servers/postgres.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { configSchema, create } from './postgres.js';

/*
 * Sessions kept between checks of postgres probes with a query, against a real PostgreSQL: reused
 * (the same backend answers), at most four per server and role however many probes run at once,
 * reset between checks (still read-only, no advisory lock left), replaced when the server ended
 * one, and never kept after a failed query. A probe without a query always logs in anew.
 */

const server = await startPostgres();
afterAll(() => server.stop());
const { scram } = server.roles;
const secrets: Record<string, string> = { PG_PASSWORD: scram.password };
// The pool keys on the connection settings: a database of its own keeps each test's sessions apart.
let databases = 0;
async function freshDatabase(): Promise<string> {
  const name = `rg_pool_${++databases}`;
  await server.sql(`CREATE DATABASE ${name} OWNER ${scram.name}`);
  return name;
}
/** A probe of `database`; `null`: no query. */
const probe = (database: string, query: string | null = 'SELECT pg_backend_pid()', extra: Record<string, unknown> = {}) =>
  create(
    configSchema.parse({ type: 'postgres', host: server.host, port: server.port, user: scram.name, database, passwordEnv: 'PG_PASSWORD', ...(query ? { query } : {}), ...extra }),
    fakeDeps({ secret: (n) => secrets[n] }),
  );
const check = (database: string, query?: string | null) => probe(database, query).check(fakeStepContext());
const sessionsOn = async (database: string) => Number(await server.sql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${database}'`));

describe('postgres probe sessions', () => {
  it('reuses the session of an earlier check: the same backend answers', async () => {
    const db = await freshDatabase();
    const first = await check(db);
    const second = await check(db);
    expect(first).toMatchObject({ ok: true });
    expect(second.value).toBe(first.value);
  });

  it('opens at most four sessions for twenty probes at once, and every probe answers', async () => {
    const db = await freshDatabase();
    // A probe waits a quarter of its timeout for a kept session: long enough here for four logins.
    const patient = () => probe(db, 'SELECT pg_backend_pid()', { timeout: '20s' }).check(fakeStepContext());
    const results = await Promise.all(Array.from({ length: 20 }, patient));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => r.value)).size).toBeLessThanOrEqual(4);
    expect(await sessionsOn(db)).toBeLessThanOrEqual(4);
  });

  it('resets a session between checks: still read-only, no setting and no advisory lock left', async () => {
    const db = await freshDatabase();
    expect(await check(db, "SELECT set_config('application_name', 'changed', false) || pg_advisory_lock(42)::text")).toMatchObject({ ok: true });
    expect(await check(db, 'SELECT current_setting($$application_name$$)')).toMatchObject({ ok: true, value: 'rollgate' });
    expect(await server.sql(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'`)).toBe('0');
    const write = await check(db, 'CREATE TABLE leaked (id int)');
    expect(write.ok).toBe(false);
    expect(write.error).toMatch(/read-only transaction/);
  });

  it('replaces a kept session the server ended, within the same check', async () => {
    const db = await freshDatabase();
    const first = await check(db);
    await server.sql(`SELECT pg_terminate_backend(${Number(first.value)})`);
    const second = await check(db);
    expect(second).toMatchObject({ ok: true });
    expect(second.value).not.toBe(first.value);
  });

  it('does not keep a session whose query failed', async () => {
    const db = await freshDatabase();
    const before = await check(db);
    expect(await check(db, 'SELECT no_such_column FROM pg_class')).toMatchObject({ ok: false });
    const after = await check(db);
    expect(after).toMatchObject({ ok: true });
    expect(after.value).not.toBe(before.value);
  });

  it('slow queries beyond the four kept sessions run side by side in sessions of their own, within their timeout', async () => {
    const db = await freshDatabase();
    const slow = () => probe(db, 'SELECT pg_sleep(0.5) IS NULL', { timeout: '2s' }).check(fakeStepContext());
    // Sixteen half-second queries through four sessions in turn would take 2 s: past the timeout.
    const results = await Promise.all(Array.from({ length: 16 }, slow));
    expect(results.map((r) => r.error ?? 'ok')).toEqual(Array(16).fill('ok'));
  });

  it('a probe without a query logs in anew each time and keeps no session', async () => {
    const db = await freshDatabase();
    expect(await check(db, null)).toMatchObject({ ok: true, value: true });
    // close() says goodbye without waiting: the server ends the backend moments later.
    const deadline = Date.now() + 5000;
    while ((await sessionsOn(db)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(await sessionsOn(db)).toBe(0);
  });
});
