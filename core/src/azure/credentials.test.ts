import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { type ArmFixture, armFixture } from '../testing/azure/base/fixture.js';
import { fakeStepContext } from '../testing/fakes.js';
import { azureTokenSource } from './credentials.js';

/*
 * Each standard Azure credential source against the identity endpoints of the ARM double (Entra
 * ID, the metadata service, App Service's identity endpoint, GitHub's OIDC request) and a fake
 * `az` on PATH: what the chain picks, what it sends, and what it says when a source refuses.
 */
let azure: ArmFixture;
let dir: string;
beforeEach(async () => {
  azure = await armFixture();
  dir = mkdtempSync(join(tmpdir(), 'rollgate-azure-'));
});
afterEach(async () => {
  await azure.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const nowhere = 'http://127.0.0.1:1';
const ctxWith = (env: Record<string, string>) => fakeStepContext({ clock: azure.clock, env: { PATH: dir, AZURE_POD_IDENTITY_AUTHORITY_HOST: nowhere, ...env } });
const source = () => azureTokenSource({ endpoint: azure.server.url });
const ids = () => ({ AZURE_TENANT_ID: azure.server.identity.tenant, AZURE_CLIENT_ID: azure.server.identity.clientId, AZURE_AUTHORITY_HOST: azure.server.url });
const refused = async (promise: Promise<unknown>) => {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
};
const valid = (token: string) => expect(azure.server.identity.accepts(`Bearer ${token}`)).toBe('ok');

/** A fake `az` that prints what a logged-in CLI prints, or fails as a logged-out one does. */
function fakeAz(script: string): void {
  const file = join(dir, 'az');
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
}

describe('azure credentials', () => {
  it('environment: a service principal secret, exchanged with the client-credentials grant, cached until near expiry', async () => {
    const tokens = source();
    const ctx = ctxWith(azure.server.env());
    const first = await tokens.token(ctx);
    valid(first);
    expect(await tokens.token(ctx)).toBe(first);
    expect(tokens.source).toBe('environment (AZURE_CLIENT_SECRET)');
    // 56 minutes later the token has less than five minutes left: a new one.
    await azure.clock.sleep(56 * 60_000);
    const later = await tokens.token(ctx);
    expect(later).not.toBe(first);
    tokens.refresh?.();
    expect(await tokens.token(ctx)).not.toBe(later);
  });

  it('environment: a wrong secret names the source, the AADSTS code and the fix, never the secret', async () => {
    const err = await refused(source().token(ctxWith({ ...ids(), AZURE_CLIENT_SECRET: 'not-the-secret-value' })));
    expect(err.message).toMatch(/^azure: credentials from environment \(AZURE_CLIENT_SECRET\) were refused \(HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided\./);
    expect(err.message).toContain('check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET');
    expect(err.message).not.toContain('not-the-secret-value');
    expect(err.message).not.toMatch(/Trace ID|Correlation ID/);
    expect(err.retryable).toBe(false);
  });

  it('environment: an unknown tenant says so', async () => {
    const err = await refused(source().token(ctxWith({ ...azure.server.env(), AZURE_TENANT_ID: 'contoso.example' })));
    expect(err.message).toContain("AADSTS90002: Tenant 'contoso.example' not found");
  });

  it('workload identity: the federated token file is the client assertion', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${azure.server.identity.assertion}\n`);
    const tokens = source();
    valid(await tokens.token(ctxWith({ ...ids(), AZURE_FEDERATED_TOKEN_FILE: file })));
    expect(tokens.source).toBe('workload identity (AZURE_FEDERATED_TOKEN_FILE)');
  });

  it('workload identity: an assertion without a matching federated credential, and a missing file, are said', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'eyJ.someone-elses.assertion');
    const err = await refused(source().token(ctxWith({ ...ids(), AZURE_FEDERATED_TOKEN_FILE: file })));
    expect(err.message).toContain('AADSTS700213: No matching federated identity record found');
    expect(err.message).toContain('federated credential whose issuer, subject and audience match');
    expect(err.message).not.toContain('someone-elses');
    const gone = await refused(source().token(ctxWith({ ...ids(), AZURE_FEDERATED_TOKEN_FILE: join(dir, 'missing') })));
    expect(gone.message).toMatch(/cannot read AZURE_FEDERATED_TOKEN_FILE .*missing \(ENOENT\)/);
  });

  it('GitHub Actions OIDC: the job token for api://AzureADTokenExchange is exchanged as azure/login does', async () => {
    const tokens = source();
    const github = { ACTIONS_ID_TOKEN_REQUEST_URL: `${azure.server.url}/github/idtoken?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: azure.server.identity.githubRequestToken };
    valid(await tokens.token(ctxWith({ ...ids(), ...github })));
    expect(tokens.source).toBe('GitHub Actions OIDC');
    const err = await refused(source().token(ctxWith({ ...ids(), ...github, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'ghs_wrong' })));
    expect(err.message).toContain('credentials from GitHub Actions OIDC were refused (HTTP 401');
    expect(err.message).toContain('permissions: id-token: write');
  });

  it('managed identity: the App Service identity endpoint, else the instance metadata service', async () => {
    const appService = source();
    valid(await appService.token(ctxWith({ IDENTITY_ENDPOINT: `${azure.server.url}/msi/token`, IDENTITY_HEADER: azure.server.identity.identityHeader })));
    expect(appService.source).toBe('managed identity');
    const imds = source();
    valid(await imds.token(ctxWith({ AZURE_POD_IDENTITY_AUTHORITY_HOST: azure.server.url })));
    expect(imds.source).toBe('managed identity');
  });

  it('the Azure CLI, when no other source is there (the metadata service has no identity, as on a GitHub runner)', async () => {
    fakeAz(`[ "$1 $2 $3 $4" = "account get-access-token --resource ${azure.server.url}/" ] || exit 9
echo '{"accessToken":"cli-token-123","expiresOn":"2027-01-01 00:00:00.000000","expires_on":1798761600,"subscription":"s","tenant":"t","tokenType":"Bearer"}'`);
    azure.server.refuseTokens();
    const tokens = source();
    expect(await tokens.token(ctxWith({ AZURE_POD_IDENTITY_AUTHORITY_HOST: azure.server.url }))).toBe('cli-token-123');
    expect(tokens.source).toBe('Azure CLI');
  });

  it('no source at all: says every way to give credentials, and what was tried', async () => {
    fakeAz(`echo "ERROR: Please run 'az login' to setup account." >&2; exit 1`);
    const err = await refused(source().token(ctxWith({})));
    expect(err.message).toMatch(/^azure: no credentials found: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET/);
    expect(err.message).toContain('managed identity (instance metadata service): no answer from 127.0.0.1:1 (connection refused');
    expect(err.message).toContain("Azure CLI: not logged in (Please run 'az login' to setup account.)");
    rmSync(join(dir, 'az'));
    const noCli = await refused(source().token(ctxWith({})));
    expect(noCli.message).toMatch(/Azure CLI: `az` cannot be run/);
  });
});
