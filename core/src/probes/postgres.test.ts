import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../tests/real/app-server.js';
import { startPostgres } from '../../../tests/real/servers/postgres.js';
import type { ProbeResult } from '../model/results.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { configSchema, create, type } from './postgres.js';

// A real PostgreSQL 15 (Debian's `postgresql` package) without TLS; a missing one fails this file.
const server = await startPostgres();
afterAll(() => server.stop());
const { scram, md5, cleartext } = server.roles;
await server.sql('CREATE TABLE schema_migrations (version bigint PRIMARY KEY); INSERT INTO schema_migrations VALUES (1), (2), (3)', server.database);
await server.sql(`ALTER TABLE schema_migrations OWNER TO ${scram.name}`, server.database);
const where = `${server.host}:${server.port}`;
const label = `${scram.name}@${where}/${server.database}`;

const SECRETS = { PG_PASSWORD: scram.password, PG_MD5: md5.password, PG_PLAIN: cleartext.password, PG_WRONG: 'wrong-Secret-1' };
const parse = (fields: Record<string, unknown>) => configSchema.parse({ type: 'postgres', ...fields });
/** A probe as the SCRAM role on the test database, over TCP; `fields` override. */
const probe = (fields: Record<string, unknown> = {}, secrets: Record<string, string> = SECRETS) =>
  create(parse({ host: server.host, port: server.port, user: scram.name, database: server.database, passwordEnv: 'PG_PASSWORD', ...fields }), fakeDeps({ secret: (n) => secrets[n] }));
const check = (fields: Record<string, unknown> = {}, secrets?: Record<string, string>) => probe(fields, secrets).check(fakeStepContext());
const migrations = () => server.sql("SELECT coalesce(string_agg(version::text, ',' ORDER BY version), '') FROM schema_migrations", server.database);

/** No password of any role, nor a wrong one we sent, anywhere in what the probe returns. */
function expectNoCredentials(result: ProbeResult): void {
  const text = JSON.stringify(result);
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
}

/** Polls until no backend runs a statement containing `marker` (bounded). */
async function expectNotRunning(marker: string): Promise<void> {
  const deadline = Date.now() + 5000;
  let running = '';
  while (Date.now() < deadline) {
    running = await server.sql(`SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%${marker}%' AND pid <> pg_backend_pid()`);
    if (running === '0') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  expect(running, `a statement with ${marker} still runs on the server`).toBe('0');
}

describe('postgres probe: logging in', () => {
  it('is ok when the session opens (SCRAM-SHA-256): value true, the server version in details', async () => {
    expect(type).toBe('postgres');
    const result = await check();
    expect(result).toMatchObject({ ok: true, value: true });
    expect(String(result.details?.serverVersion)).toMatch(/^15\./);
    expectNoCredentials(result);
  });

  it('logs in by md5 and by cleartext password where pg_hba.conf asks for them', async () => {
    expect(await check({ user: md5.name, passwordEnv: 'PG_MD5' })).toMatchObject({ ok: true });
    expect(await check({ user: cleartext.name, passwordEnv: 'PG_PLAIN' })).toMatchObject({ ok: true });
  });

  it('connects over the unix socket when host is a directory, and by a URL from urlEnv', async () => {
    expect(await check({ host: server.socketDir, passwordEnv: undefined })).toMatchObject({ ok: true });
    const url = `postgres://${scram.name}:${encodeURIComponent(scram.password)}@127.0.0.1:${server.port}/${server.database}?sslmode=disable`;
    const viaUrl = await create(parse({ urlEnv: 'DB_URL', query: 'SELECT current_user' }), fakeDeps({ secret: (n) => (n === 'DB_URL' ? url : undefined) })).check(fakeStepContext());
    expect(viaUrl).toMatchObject({ ok: true, value: scram.name });
  });

  it('a wrong password: ok false naming the user and server, never a password', async () => {
    for (const [user, env] of [
      [scram.name, 'PG_WRONG'],
      [md5.name, 'PG_WRONG'],
      [cleartext.name, 'PG_WRONG'],
    ]) {
      const result = await check({ user, passwordEnv: env });
      expect(result.ok).toBe(false);
      expect(result.error).toBe(
        `authentication of user ${user} failed at ${where}: password authentication failed for user "${user}" (SQLSTATE 28P01); check the password in PG_WRONG, the role and pg_hba.conf`,
      );
      expectNoCredentials(result);
    }
  });

  it('a wrong password in a URL is reported without the URL', async () => {
    const url = `postgresql://${scram.name}:wrong-Secret-1@127.0.0.1:${server.port}/${server.database}`;
    const result = await create(parse({ urlEnv: 'DB_URL' }), fakeDeps({ secret: () => url })).check(fakeStepContext());
    expect(result.error).toContain(`authentication of user ${scram.name} failed at ${where}`);
    expect(result.error).toContain('check the password in DB_URL');
    expectNoCredentials(result);
  });

  it('says which variable is not set, and when the server wants a password that was not given', async () => {
    expect((await check({}, {})).error).toBe('environment variable PG_PASSWORD is not set (passwordEnv of the postgres probe)');
    expect((await check({ passwordEnv: undefined })).error).toBe(
      `${where} asks for a password for user ${scram.name}, and none was given: set passwordEnv (the environment variable holding it)`,
    );
    const noUrl = await create(parse({ urlEnv: 'DB_URL' }), fakeDeps()).check(fakeStepContext());
    expect(noUrl.error).toBe('environment variable DB_URL is not set (urlEnv of the postgres probe)');
  });

  it('a refused connection names host and port', async () => {
    const port = await freePort();
    const result = await check({ port });
    expect(result).toMatchObject({ ok: false, value: null, error: `connection refused by 127.0.0.1:${port} (nothing listens there)` });
    expect((await check({ host: '/nonexistent-dir' })).error).toBe(`no server socket at /nonexistent-dir/.s.PGSQL.${server.port} (is the server running, on port ${server.port}?)`);
    expect((await check({ host: 'no-such-host.invalid', port: 5432 })).error).toMatch(/^cannot resolve host of no-such-host\.invalid:5432 \(/);
  });

  it('an unknown database is named', async () => {
    const result = await check({ database: 'no_such_db' });
    expect(result).toMatchObject({ ok: false, error: `database no_such_db does not exist at ${where} (SQLSTATE 3D000)` });
  });

  it('a role pg_hba.conf does not know is refused with the server reason', async () => {
    const result = await check({ user: 'rg_nobody' });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^authentication of user rg_nobody failed at 127\.0\.0\.1:\d+: password authentication failed for user "rg_nobody" \(SQLSTATE 28P01\)/);
  });

  it('a server that refuses sessions on a database says why', async () => {
    await server.sql(`CREATE DATABASE rg_full OWNER ${scram.name} CONNECTION LIMIT 0`);
    await server.sql(`CREATE DATABASE rg_closed OWNER ${scram.name} ALLOW_CONNECTIONS false`);
    expect((await check({ database: 'rg_full' })).error).toBe(`${where} does not accept connections now: too many connections for database "rg_full" (SQLSTATE 53300)`);
    expect((await check({ database: 'rg_closed' })).error).toBe(
      `${where} refused the session of ${scram.name} on rg_closed: database "rg_closed" is not currently accepting connections (SQLSTATE 55000)`,
    );
  });

  it('an authentication method rollgate does not speak is named', async () => {
    expect((await check({ user: 'rg_gss' })).error).toBe(`${where} asks for an authentication method rollgate does not speak (code 7; use scram-sha-256 or md5 in pg_hba.conf)`);
  });

  it('sslmode require against a server without TLS fails, prefer falls back to plain', async () => {
    expect((await check({ sslmode: 'require' })).error).toBe(`${where} does not accept TLS connections, and sslmode is require`);
    expect(await check({ sslmode: 'prefer', query: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' })).toMatchObject({ ok: true, value: false });
  });

  it('an sslRootCert that cannot be read is named', async () => {
    const result = await create(parse({ host: server.host, port: server.port, user: scram.name, sslmode: 'verify-full', sslRootCert: 'missing-ca.pem' }), fakeDeps({ workDir: '/work-dir' })).check(fakeStepContext());
    expect(result.error).toBe('cannot read sslRootCert /work-dir/missing-ca.pem: ENOENT');
  });

  it('gives up on a server that accepts and never answers, at its timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const result = await check({ port, timeout: '300ms' });
      expect(result).toMatchObject({ ok: false, error: `no session with ${scram.name}@127.0.0.1:${port}/${server.database} within 300ms (connect and log in)` });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe('postgres probe: the query', () => {
  it('the first column of the first row is the value', async () => {
    expect(await check({ query: 'SELECT max(version) FROM schema_migrations' })).toMatchObject({ ok: true, value: 3 });
    expect(await check({ query: 'SELECT version, true FROM schema_migrations ORDER BY version DESC' })).toMatchObject({ ok: true, value: 3 });
  });

  it('types: numbers, booleans, text; NULL and no row are null', async () => {
    const value = async (sql: string) => (await check({ query: sql })).value;
    expect(await value('SELECT 2::int2')).toBe(2);
    expect(await value('SELECT 1.5::numeric')).toBe(1.5);
    expect(await value('SELECT 0.25::float8')).toBe(0.25);
    expect(await value("SELECT 'NaN'::float8")).toBe('NaN');
    expect(await value('SELECT 9007199254740993::int8')).toBe('9007199254740993');
    expect(await value('SELECT 20240501120000::bigint')).toBe(20240501120000);
    expect(await value('SELECT true')).toBe(true);
    expect(await value('SELECT 1 = 2')).toBe(false);
    expect(await value("SELECT 'ready'")).toBe('ready');
    expect(await value('SELECT NULL::int')).toBeNull();
    expect(await value('SELECT version FROM schema_migrations WHERE version > 100')).toBeNull();
    expect(await check({ query: 'SET LOCAL search_path TO public' })).toMatchObject({ ok: true, value: null });
  });

  it('a write is refused by the server: the read-only transaction is enforced, nothing changes', async () => {
    const before = await migrations();
    const insert = await check({ query: 'INSERT INTO schema_migrations VALUES (99)' });
    expect(insert).toMatchObject({ ok: false, value: null });
    expect(insert.error).toBe(
      `query 'INSERT INTO schema_migrations VALUES (99)' tried to write on ${label}, and the probe's transaction is read-only: cannot execute INSERT in a read-only transaction (SQLSTATE 25006). A probe query must only read`,
    );
    // A write hidden in a SELECT is refused the same way: the server checks, not a SQL parser.
    const hidden = await check({ query: 'WITH w AS (DELETE FROM schema_migrations RETURNING version) SELECT count(*) FROM w' });
    expect(hidden.error).toContain('cannot execute SELECT in a read-only transaction (SQLSTATE 25006)');
    expect(await migrations()).toBe(before);
  });

  it('cannot leave the read-only transaction: one statement only, and read-write cannot be switched on', async () => {
    const before = await migrations();
    const two = await check({ query: 'COMMIT; INSERT INTO schema_migrations VALUES (98)' });
    expect(two.error).toBe(`query 'COMMIT; INSERT INTO schema_migrations VALUES (98)' holds more than one statement; a probe runs exactly one (SQLSTATE 42601)`);
    const flip = await check({ query: "SELECT set_config('transaction_read_only', 'off', true)" });
    expect(flip.ok).toBe(false);
    expect(flip.error).toContain('(SQLSTATE 25001)');
    expect(await migrations()).toBe(before);
  });

  it("a query error gives PostgreSQL's message and SQLSTATE, and its hint", async () => {
    const result = await check({ query: 'SELECT max(version) FROM missing_table' });
    expect(result.error).toBe(`query 'SELECT max(version) FROM missing_table' failed on ${label}: relation "missing_table" does not exist (SQLSTATE 42P01)`);
    const hinted = await check({ query: 'SELECT nosuchfn(1)' });
    expect(hinted.error).toMatch(/function nosuchfn\(integer\) does not exist \(SQLSTATE 42883\); hint: No function matches/);
    expect((await check({ query: 'SELEC 1' })).error).toBe(`query 'SELEC 1' failed on ${label}: syntax error at or near "SELEC" (SQLSTATE 42601)`);
    const long = `SELECT ${'1 + '.repeat(40)}x`;
    expect((await check({ query: long })).error).toContain(`query '${long.slice(0, 77)}...' failed`);
  });

  it('a slow query is stopped on the server by its statement_timeout, within the probe deadline', async () => {
    const result = await check({ query: 'SELECT pg_sleep(30)', timeout: '1s' });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(new RegExp(`^query 'SELECT pg_sleep\\(30\\)' was stopped on ${label.replace(/\./g, '\\.')}: canceling statement due to statement timeout \\(SQLSTATE 57014\\); its statement_timeout was \\d+ms$`));
    expect(result.latencyMs).toBeLessThan(5000);
    await expectNotRunning('pg_sleep(30)');
    const explicit = await check({ query: 'SELECT pg_sleep(31)', statementTimeout: '200ms', timeout: '3s' });
    expect(explicit.error).toContain('(SQLSTATE 57014); its statement_timeout was 200ms');
  });

  it('a server that stops answering mid-query: the probe gives up at its timeout', async () => {
    const pending = check({ query: 'SELECT pg_sleep(32)', timeout: '1500ms' });
    let pid = '';
    const deadline = Date.now() + 1000;
    while (pid === '' && Date.now() < deadline) pid = await server.sql("SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(32)%' AND pid <> pg_backend_pid()");
    expect(pid, 'the backend running the query').not.toBe('');
    // Frozen, the backend can neither time out nor be cancelled: only the probe's own timer is left.
    process.kill(Number(pid), 'SIGSTOP');
    try {
      const result = await pending;
      expect(result).toMatchObject({ ok: false, error: `query 'SELECT pg_sleep(32)' did not finish within 1.5s on ${label}; it was cancelled on the server` });
    } finally {
      process.kill(Number(pid), 'SIGCONT');
    }
    await expectNotRunning('pg_sleep(32)');
  });

  it('stops when its signal aborts: before connecting, and mid-query (cancelled on the server too)', async () => {
    const aborted = new AbortController();
    aborted.abort();
    expect(await probe().check(fakeStepContext({ signal: aborted.signal }))).toMatchObject({ ok: false, error: `cancelled before connecting to ${label}` });
    const controller = new AbortController();
    const pending = probe({ query: 'SELECT pg_sleep(33)', timeout: '1m' }).check(fakeStepContext({ signal: controller.signal }));
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && (await server.sql("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(33)%' AND pid <> pg_backend_pid()")) === '0');
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, error: `cancelled while querying ${label}` });
    await expectNotRunning('pg_sleep(33)');
  });
});

describe('postgres probe: config', () => {
  it('needs user or urlEnv, and not both ways at once', () => {
    const issues = (fields: Record<string, unknown>) => configSchema.safeParse({ type: 'postgres', ...fields }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ host: 'db' })).toEqual(['user: give user (with host, port, database and passwordEnv as needed), or urlEnv']);
    expect(issues({ urlEnv: 'DB_URL', host: 'db' })).toEqual(['urlEnv: urlEnv holds the whole connection: drop host, port, database, user and passwordEnv, or drop urlEnv']);
    expect(issues({ user: 'u', query: 'SELECT 1\0' })).toEqual(['query: a query cannot hold a NUL character']);
    expect(issues({ user: 'u', sslmode: 'allow' })?.[0]).toMatch(/^sslmode: /);
    expect(parse({ user: 'u' })).toEqual({ type: 'postgres', user: 'u', timeout: 2000 });
  });

  it('documents every field', () => {
    for (const [name, field] of Object.entries(configSchema.shape)) {
      const inner = 'unwrap' in field ? field.unwrap() : field;
      if (name !== 'type') expect(field.description ?? inner.description, name).toBeTruthy();
    }
  });
});
