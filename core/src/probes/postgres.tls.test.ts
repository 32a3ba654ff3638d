import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../../tests/real/servers/postgres.js';
import { fakeDeps, fakeStepContext } from '../testing/fakes.js';
import { configSchema, create } from './postgres.js';

// A real PostgreSQL 15 with TLS on: its self-signed certificate names localhost, not 127.0.0.1.
const server = await startPostgres({ tls: true });
afterAll(() => server.stop());
const { scram } = server.roles;
const usesTls = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

const check = (fields: Record<string, unknown>) =>
  create(
    configSchema.parse({ type: 'postgres', host: server.host, port: server.port, user: scram.name, database: server.database, passwordEnv: 'PG_PASSWORD', query: usesTls, ...fields }),
    fakeDeps({ secret: (n) => (n === 'PG_PASSWORD' ? scram.password : undefined) }),
  ).check(fakeStepContext());

describe('postgres probe over TLS', () => {
  it('prefer and require use TLS without checking the certificate', async () => {
    expect(await check({})).toMatchObject({ ok: true, value: true });
    expect(await check({ sslmode: 'require' })).toMatchObject({ ok: true, value: true });
  });

  it('disable does not', async () => {
    expect(await check({ sslmode: 'disable' })).toMatchObject({ ok: true, value: false });
  });

  it('verify-full checks the chain and the host name', async () => {
    expect(await check({ sslmode: 'verify-full', sslRootCert: server.certFile, host: 'localhost' })).toMatchObject({ ok: true, value: true });
    const wrongName = await check({ sslmode: 'verify-full', sslRootCert: server.certFile });
    expect(wrongName.ok).toBe(false);
    expect(wrongName.error).toMatch(new RegExp(`^TLS with 127\\.0\\.0\\.1:${server.port} failed \\(sslmode verify-full\\): .*IP: 127\\.0\\.0\\.1 is not in the cert's list`));
    const untrusted = await check({ sslmode: 'verify-full', host: 'localhost' });
    // Node 24 appends a hint about --use-system-ca to its own message.
    expect(untrusted.error).toMatch(new RegExp(`^TLS with localhost:${server.port} failed \\(sslmode verify-full\\): self-signed certificate`));
  });

  it('verify-ca checks the chain only', async () => {
    expect(await check({ sslmode: 'verify-ca', sslRootCert: server.certFile })).toMatchObject({ ok: true, value: true });
    expect((await check({ sslmode: 'verify-ca' })).error).toContain('failed (sslmode verify-ca): self-signed certificate');
  });

  it('a URL may carry the sslmode; the field wins over it', async () => {
    const url = `postgres://${scram.name}:${scram.password}@127.0.0.1:${server.port}/${server.database}?sslmode=disable`;
    const viaUrl = (fields: Record<string, unknown>) =>
      create(configSchema.parse({ type: 'postgres', urlEnv: 'DB_URL', query: usesTls, ...fields }), fakeDeps({ secret: () => url })).check(fakeStepContext());
    expect(await viaUrl({})).toMatchObject({ ok: true, value: false });
    expect(await viaUrl({ sslmode: 'require' })).toMatchObject({ ok: true, value: true });
  });
});

describe('a kept TLS session', () => {
  it('does not keep the process running while it waits idle for the next check', async () => {
    // TCP and TLS handles that keep the event loop alive; the only ones in this file are the probe's.
    const referenced = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap');
    expect(await check({ sslmode: 'require' })).toMatchObject({ ok: true, value: true });
    // The session stays open in the pool for the next check, but holds nothing the process waits on.
    expect(referenced()).toEqual([]);
  });
});
