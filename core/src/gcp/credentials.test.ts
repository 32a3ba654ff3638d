import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import { fakeStepContext } from '../testing/fakes.js';
import { type GcpFixture, gcpFixture, PROJECT, rsaKey, SERVICE_ACCOUNT, serviceAccountKey } from '../testing/gcp/fixture.js';
import { googleCredentials } from './credentials.js';

let f: GcpFixture;
beforeEach(async () => {
  f = await gcpFixture();
});
afterEach(() => f.cleanup());

const ctx = (env: Record<string, string>) => fakeStepContext({ clock: f.clock, env });
const write = (name: string, content: unknown) => {
  const path = join(f.dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
const failure = async (promise: Promise<unknown>): Promise<ProviderError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
};

describe('google credentials: a service account key', () => {
  it('signs a JWT the token endpoint verifies, and keeps the token until shortly before it expires', async () => {
    const creds = googleCredentials('cloud-run');
    const token = await creds.token(ctx(f.env));
    expect(f.server.tokens.valid(token)).toBe(true);
    expect(await creds.token(ctx(f.env))).toBe(token);
    expect(f.server.exchanges).toEqual(['/token']);
    f.clock.advance(3600_000 - 30_000);
    const renewed = await creds.token(ctx(f.env));
    expect(renewed).not.toBe(token);
    expect(f.server.exchanges).toEqual(['/token', '/token']);
    creds.refresh?.();
    expect(await creds.token(ctx(f.env))).not.toBe(renewed);
    expect(await creds.project(ctx(f.env))).toBe(PROJECT);
  });

  it('a key the endpoint does not know is refused, saying which source and what to do, never the key', async () => {
    const other = rsaKey();
    const path = write('other.json', serviceAccountKey(f.server, other.privateKey, 'gone@acme-prod.iam.gserviceaccount.com'));
    const err = await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: path })));
    expect(err.message).toBe(
      `cloud-run: the credentials in GOOGLE_APPLICATION_CREDENTIALS (${path}): ${f.server.host} refused the exchange (HTTP 400, invalid_grant: Invalid grant: account not found); the key of gone@acme-prod.iam.gserviceaccount.com may have been deleted or disabled: create a new key (gcloud iam service-accounts keys create), or better, use workload identity federation`,
    );
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain('PRIVATE KEY');
  });

  it('a key signed by another private key fails the signature check', async () => {
    const path = write('forged.json', serviceAccountKey(f.server, rsaKey().privateKey));
    const err = await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: path })));
    expect(err.message).toContain('(HTTP 400, invalid_grant: Invalid JWT Signature.)');
  });

  it('a file that is missing, not JSON, of an unknown type, lacks fields or holds no usable key says so', async () => {
    const cases: [string, string][] = [
      [join(f.dir, 'nope.json'), `cannot read ${join(f.dir, 'nope.json')} (ENOENT); point it at the JSON file the login step wrote, or unset it`],
      [write('bad.json', '{"private_key": "-----BEGIN'), 'is not a JSON credential file; download the key again, or re-run the login step that wrote it'],
      [write('gdch.json', { type: 'gdch_service_account' }), 'credential type "gdch_service_account" is not one rollgate reads'],
      [write('imp.json', { type: 'impersonated_service_account' }), 'the impersonated_service_account file has no service_account_impersonation_url'],
      [write('short.json', { type: 'service_account', client_email: SERVICE_ACCOUNT }), 'the service_account file has no private_key; download or generate it again'],
      [write('pem.json', { type: 'service_account', client_email: SERVICE_ACCOUNT, private_key: 'not a key' }), `its private_key cannot sign (not a PEM RSA key); create a new key for ${SERVICE_ACCOUNT}`],
    ];
    for (const [path, said] of cases) {
      const err = await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: path })));
      expect(err.message).toContain(`cloud-run: the credentials in GOOGLE_APPLICATION_CREDENTIALS (${path}): `);
      expect(err.message).toContain(said);
      expect(err.message).not.toContain('-----BEGIN');
    }
  });

  it('a token endpoint that is down is a retryable error', async () => {
    const path = write('down.json', { ...JSON.parse(serviceAccountKey(f.server, f.privateKey)), token_uri: 'http://127.0.0.1:9/token' });
    const err = await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: path })));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('127.0.0.1:9 is unreachable (connection refused (nothing listens there))');
  });
});

describe('google credentials: workload identity federation (external_account)', () => {
  const audience = '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/github/providers/github';
  const config = (source: Record<string, unknown>, impersonate = true) => ({
    type: 'external_account',
    audience,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${f.server.url}/v1/token`,
    credential_source: source,
    ...(impersonate ? { service_account_impersonation_url: `${f.server.url}/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken` } : {}),
  });

  it('reads the OIDC token from a URL (as google-github-actions/auth writes it), exchanges it at STS and impersonates the service account', async () => {
    f.server.tokens.impersonable.add(SERVICE_ACCOUNT);
    const path = write('wif.json', config({
      url: `${f.server.url}/oidc?audience=https:${audience}`,
      headers: { Authorization: `Bearer ${f.server.tokens.oidcRequestToken}` },
      format: { type: 'json', subject_token_field_name: 'value' },
    }));
    const token = await googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: path }));
    expect(f.server.tokens.valid(token)).toBe(true);
    expect(f.server.exchanges).toEqual(['/oidc', '/v1/token', `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`]);
  });

  it('reads a subject token file (text), and uses the federated token when there is no impersonation', async () => {
    f.server.tokens.subjects.set('subject-1', audience);
    const path = write('wif.json', config({ file: write('oidc-token', 'subject-1\n') }, false));
    const token = await googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: path }));
    expect(f.server.tokens.valid(token)).toBe(true);
    expect(f.server.exchanges).toEqual(['/v1/token']);
  });

  it('says what to fix when the pool refuses the token, the service account may not be impersonated, or the job may not ask for an ID token', async () => {
    f.server.tokens.subjects.set('subject-1', '//elsewhere');
    const refused = write('wif.json', config({ file: write('oidc-token', 'subject-1') }, false));
    expect((await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: refused })))).message).toContain(
      `refused the exchange (HTTP 400, invalid_target: The target service indicated by the "audience" parameters is invalid.); check that the workload identity pool provider (${audience}) trusts this issuer and that its attribute condition admits this repository and branch`,
    );
    f.server.tokens.subjects.set('subject-2', audience);
    const denied = write('wif2.json', config({ file: write('oidc-token2', 'subject-2') }));
    expect((await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: denied })))).message).toContain(
      `, impersonating ${SERVICE_ACCOUNT}: ${f.server.host} refused the exchange (HTTP 403, PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).); grant the caller (the workload identity pool's principal, or your account) roles/iam.serviceAccountTokenCreator or roles/iam.workloadIdentityUser on ${SERVICE_ACCOUNT}`,
    );
    const noPermission = write('wif3.json', config({ url: `${f.server.url}/oidc?audience=x`, headers: { Authorization: 'Bearer wrong' }, format: { type: 'json' } }));
    expect((await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: noPermission })))).message).toContain(
      'refused the exchange (HTTP 401, UNAUTHENTICATED: bad request token); in GitHub Actions the job needs `permissions: id-token: write`',
    );
    const aws = write('aws.json', config({ environment_id: 'aws1' }));
    expect((await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: aws })))).message).toContain(
      'an AWS credential_source is not one rollgate reads (a file or a url)',
    );
    const field = write('field.json', config({ file: write('json-token', '{"token":"x"}'), format: { type: 'json', subject_token_field_name: 'value' } }));
    expect((await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: field })))).message).toContain('holds no JSON field "value"');
  });
});

describe('google credentials: other sources', () => {
  it('an authorized user refreshes its token at the token URI', async () => {
    f.server.tokens.users.set('client-1', { secret: 'client-secret', refreshToken: 'refresh-1' });
    const user = { type: 'authorized_user', client_id: 'client-1', client_secret: 'client-secret', refresh_token: 'refresh-1', token_uri: `${f.server.url}/token` };
    const token = await googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: write('user.json', user) }));
    expect(f.server.tokens.valid(token)).toBe(true);
    const revoked = write('revoked.json', { ...user, refresh_token: 'refresh-old' });
    const err = await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: revoked })));
    expect(err.message).toContain('(HTTP 400, invalid_grant: Token has been expired or revoked.); log in again (gcloud auth application-default login)');
    expect(err.message).not.toContain('refresh-old');
  });

  it('an impersonated service account (gcloud --impersonate-service-account) exchanges its source token for the service account\'s', async () => {
    f.server.tokens.users.set('client-1', { secret: 'client-secret', refreshToken: 'refresh-1' });
    f.server.tokens.impersonable.add(SERVICE_ACCOUNT);
    const file = {
      type: 'impersonated_service_account',
      service_account_impersonation_url: `${f.server.url}/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`,
      source_credentials: { type: 'authorized_user', client_id: 'client-1', client_secret: 'client-secret', refresh_token: 'refresh-1', token_uri: `${f.server.url}/token` },
    };
    const token = await googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: write('imp.json', file) }));
    expect(f.server.tokens.valid(token)).toBe(true);
    expect(f.server.exchanges).toEqual(['/token', `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`]);
  });

  it('gcloud application-default file under CLOUDSDK_CONFIG is read when no variable names credentials', async () => {
    writeFileSync(join(f.dir, 'application_default_credentials.json'), serviceAccountKey(f.server, f.privateKey));
    const token = await googleCredentials('cloud-run').token(ctx({ CLOUDSDK_CONFIG: f.dir }));
    expect(f.server.tokens.valid(token)).toBe(true);
  });

  it('CLOUDSDK_AUTH_ACCESS_TOKEN is used as it is', async () => {
    expect(await googleCredentials('cloud-run').token(ctx({ CLOUDSDK_AUTH_ACCESS_TOKEN: 'ya29.plain\n' }))).toBe('ya29.plain');
    expect(f.server.exchanges).toEqual([]);
  });

  it('the metadata server gives the attached service account token (with Metadata-Flavor: Google)', async () => {
    const token = await googleCredentials('cloud-run').token(ctx({ GCE_METADATA_HOST: f.server.host }));
    expect(f.server.tokens.valid(token)).toBe(true);
    expect(f.server.exchanges).toEqual(['/computeMetadata/v1/instance/service-accounts/default/token']);
  });

  it('with no source and METADATA_SERVER_DETECTION=none, the error lists every source and how to set one', async () => {
    const err = await failure(googleCredentials('cloud-sql').token(ctx({ METADATA_SERVER_DETECTION: 'none' })));
    expect(err.message).toBe(
      'cloud-sql: no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a service account key or a workload identity federation file (google-github-actions/auth writes one), or CLOUDSDK_AUTH_ACCESS_TOKEN, or run on Google Cloud with a service account attached',
    );
    expect(f.server.exchanges).toEqual([]);
  });

  it('a metadata server named by GCE_METADATA_HOST that does not answer is a retryable error naming it', async () => {
    // A metadata host that cannot resolve stands for a machine outside Google Cloud.
    const creds = googleCredentials('cloud-sql');
    const err = await failure(creds.token(ctx({ GCE_METADATA_HOST: '127.0.0.1:9' })));
    expect(err.message).toContain('cloud-sql: the metadata server (127.0.0.1:9): 127.0.0.1:9 is unreachable');
    expect(err.retryable).toBe(true);
  });
});

describe('google api calls', () => {
  it('carry the quota project of a user credential file (x-goog-user-project), as Google libraries send it', async () => {
    const { gcpApi } = await import('./client.js');
    const { fakeDeps } = await import('../testing/fakes.js');
    f.server.tokens.users.set('client-1', { secret: 'client-secret', refreshToken: 'refresh-1' });
    f.server.sql.set(PROJECT, 'orders', { state: 'RUNNABLE' });
    const user = { type: 'authorized_user', client_id: 'client-1', client_secret: 'client-secret', refresh_token: 'refresh-1', token_uri: `${f.server.url}/token`, quota_project_id: 'acme-billing' };
    const api = gcpApi(fakeDeps({ clock: f.clock }, { settings: { gcp: f.settings } }), 'cloud-sql');
    await api.call({ url: `${f.server.url}/v1/projects/${PROJECT}/instances/orders`, what: 'read orders' }, ctx({ GOOGLE_APPLICATION_CREDENTIALS: write('user.json', user) }));
    expect(f.server.calls.at(-1)?.quotaProject).toBe('acme-billing');
    await gcpApi(fakeDeps({ clock: f.clock }, { settings: { gcp: f.settings } }), 'cloud-sql').call({ url: `${f.server.url}/v1/projects/${PROJECT}/instances/orders`, what: 'read orders' }, ctx(f.env));
    expect(f.server.calls.at(-1)?.quotaProject).toBeUndefined();
  });
});

describe('google credentials: the project acted in', () => {
  it("follows ADC: GOOGLE_CLOUD_PROJECT, then GCLOUD_PROJECT, then the key file's project_id; never the quota project", async () => {
    const creds = googleCredentials('cloud-run');
    expect(await creds.project(ctx({ ...f.env, GOOGLE_CLOUD_PROJECT: 'acme-env', GCLOUD_PROJECT: 'acme-gcloud' }))).toBe('acme-env');
    expect(await creds.project(ctx({ ...f.env, GCLOUD_PROJECT: 'acme-gcloud' }))).toBe('acme-gcloud');
    expect(await creds.project(ctx(f.env))).toBe(PROJECT);
    const user = { type: 'authorized_user', client_id: 'client-1', client_secret: 's', refresh_token: 'r', token_uri: `${f.server.url}/token`, quota_project_id: 'acme-billing' };
    expect(await creds.project(ctx({ GOOGLE_APPLICATION_CREDENTIALS: write('user.json', user) }))).toBeUndefined();
    const { gcpApi } = await import('./client.js');
    const { fakeDeps } = await import('../testing/fakes.js');
    const api = gcpApi(fakeDeps({ clock: f.clock }, { settings: { gcp: { endpoint: f.server.url } } }), 'cloud-run');
    expect((await failure(api.project(ctx({ GOOGLE_APPLICATION_CREDENTIALS: write('user2.json', user) })))).message).toBe(
      "cloud-run: no Google Cloud project: set `project` in the workflow's gcp block (or the provider's own), or GOOGLE_CLOUD_PROJECT in the environment",
    );
    expect(await gcpApi(fakeDeps({ clock: f.clock }, { settings: { gcp: { project: 'acme-set', endpoint: f.server.url } } }), 'cloud-run').project(ctx({ ...f.env, GOOGLE_CLOUD_PROJECT: 'acme-env' }))).toBe('acme-set');
  });
});

describe('the Google token double checks what Google checks', () => {
  const post = async (path: string, form: Record<string, string>) => {
    const res = await fetch(`${f.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const audience = '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/github/providers/github';
  const exchange = { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', audience, subject_token: 'subject-1', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', requested_token_type: 'urn:ietf:params:oauth:token-type:access_token', scope: 'https://www.googleapis.com/auth/cloud-platform' };

  it('STS refuses an unknown subject_token_type, another requested_token_type and a missing scope, with its error bodies; rollgate says which', async () => {
    f.server.tokens.subjects.set('subject-1', audience);
    expect(await post('/v1/token', exchange)).toMatchObject({ status: 200 });
    expect(await post('/v1/token', { ...exchange, requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' })).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'Invalid value for "requested_token_type". Expected "urn:ietf:params:oauth:token-type:access_token".' },
    });
    const { scope, ...noScope } = exchange;
    void scope;
    expect(await post('/v1/token', noScope)).toEqual({ status: 400, body: { error: 'invalid_scope', error_description: 'The scope is missing or invalid: request https://www.googleapis.com/auth/cloud-platform.' } });
    const file = write('wif.json', {
      type: 'external_account',
      audience,
      subject_token_type: 'urn:ietf:params:oauth:token-type:oidc',
      token_url: `${f.server.url}/v1/token`,
      credential_source: { file: write('oidc-token', 'subject-1') },
    });
    expect((await failure(googleCredentials('cloud-run').token(ctx({ GOOGLE_APPLICATION_CREDENTIALS: file })))).message).toContain(
      'refused the exchange (HTTP 400, invalid_request: Invalid value for "subject_token_type". Supported values are: urn:ietf:params:oauth:token-type:jwt, urn:ietf:params:oauth:token-type:id_token,',
    );
  });

  it("the token endpoint refuses a signed JWT without a scope claim (invalid_scope); a token of another scope is refused by the APIs (403)", async () => {
    const { createSign } = await import('node:crypto');
    const jwt = (claims: Record<string, unknown>) => {
      const now = Math.floor(f.clock.now() / 1000);
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: SERVICE_ACCOUNT, aud: `${f.server.url}/token`, iat: now, exp: now + 3600, ...claims })).toString('base64url')}`;
      return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(f.privateKey).toString('base64url')}`;
    };
    const grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
    expect(await post('/token', { grant_type: grant, assertion: jwt({}) })).toEqual({ status: 400, body: { error: 'invalid_scope', error_description: 'Invalid OAuth scope or ID token audience provided.' } });
    const narrow = await post('/token', { grant_type: grant, assertion: jwt({ scope: 'https://www.googleapis.com/auth/userinfo.email' }) });
    expect(narrow.status).toBe(200);
    f.server.sql.set(PROJECT, 'orders', { state: 'RUNNABLE' });
    const res = await fetch(`${f.server.url}/v1/projects/${PROJECT}/instances/orders`, { headers: { authorization: `Bearer ${String(narrow.body.access_token)}` } });
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 403, body: { error: { code: 403, message: 'Request had insufficient authentication scopes.', status: 'PERMISSION_DENIED' } } });
  });
});
