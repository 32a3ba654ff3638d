import { readFile } from 'node:fs/promises';
import type { StepContext } from '../ports/step-context.js';
import { CLOUD_PLATFORM, CredentialsError, exchange, type Grant, oauthGrant, refused, send, signedAssertion } from './oauth.js';

/*
 * The three kinds of Google credential file rollgate reads (what GOOGLE_APPLICATION_CREDENTIALS or
 * gcloud's application-default file holds), each turned into an access token as Google's own
 * libraries do:
 * - `service_account`: a JWT signed with the key's private key, exchanged at its token_uri;
 * - `external_account` (workload identity federation; google-github-actions/auth writes one for
 *   GitHub's OIDC token): a subject token read from credential_source (a file, or a URL with
 *   headers, as text or JSON), exchanged at the STS token_url, then, when the file names
 *   service_account_impersonation_url, for the service account's own token;
 * - `authorized_user` (gcloud auth application-default login): its refresh token at the token URI;
 * - `impersonated_service_account` (gcloud auth application-default login
 *   --impersonate-service-account): its source_credentials' token exchanged for the service
 *   account's own.
 */

const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/** A credential file's fields that rollgate reads (the rest is ignored). */
export interface CredentialFile {
  type?: string;
  project_id?: string;
  quota_project_id?: string;
  client_email?: string;
  private_key?: string;
  private_key_id?: string;
  token_uri?: string;
  client_id?: string;
  client_secret?: string;
  refresh_token?: string;
  audience?: string;
  subject_token_type?: string;
  token_url?: string;
  service_account_impersonation_url?: string;
  source_credentials?: CredentialFile;
  credential_source?: {
    file?: string;
    url?: string;
    headers?: Record<string, string>;
    format?: { type?: string; subject_token_field_name?: string };
    environment_id?: string;
    executable?: unknown;
  };
}

/** Reads and parses a credential file; its content is never quoted (it holds a key). */
export async function readCredentialFile(path: string, source: string): Promise<CredentialFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CredentialsError(`${source}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); point it at the JSON file the login step wrote, or unset it`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as CredentialFile;
  } catch {
    // Said below, without the content.
  }
  throw new CredentialsError(`${source}: ${path} is not a JSON credential file; download the key again, or re-run the login step that wrote it`);
}

/** Obtains an access token from one credential file. */
export async function grantFrom(file: CredentialFile, source: string, ctx: StepContext): Promise<Grant> {
  switch (file.type) {
    case 'service_account':
      return serviceAccount(file, source, ctx);
    case 'external_account':
      return externalAccount(file, source, ctx);
    case 'authorized_user':
      return authorizedUser(file, source, ctx);
    case 'impersonated_service_account': {
      need(file, ['service_account_impersonation_url'], source);
      const inner = file.source_credentials;
      if (!inner || inner.type === 'impersonated_service_account') throw new CredentialsError(`${source}: the impersonated_service_account file has no usable source_credentials; log in again (gcloud auth application-default login --impersonate-service-account)`);
      return impersonated(await grantFrom(inner, source, ctx), file.service_account_impersonation_url as string, source, ctx);
    }
    default:
      throw new CredentialsError(
        `${source}: credential type ${JSON.stringify(file.type ?? null)} is not one rollgate reads (service_account, external_account, authorized_user, impersonated_service_account); use a service account key or workload identity federation (google-github-actions/auth)`,
      );
  }
}

function need(file: CredentialFile, fields: (keyof CredentialFile)[], source: string): void {
  const missing = fields.filter((f) => typeof file[f] !== 'string' || file[f] === '');
  if (missing.length > 0) throw new CredentialsError(`${source}: the ${file.type} file has no ${missing.join(', ')}; download or generate it again`);
}

async function serviceAccount(file: CredentialFile, source: string, ctx: StepContext): Promise<Grant> {
  need(file, ['client_email', 'private_key'], source);
  const tokenUri = file.token_uri ?? GOOGLE_TOKEN_URI;
  let assertion: string;
  try {
    assertion = signedAssertion(file as { client_email: string; private_key: string; private_key_id?: string }, tokenUri, ctx.clock.now());
  } catch {
    throw new CredentialsError(`${source}: its private_key cannot sign (not a PEM RSA key); create a new key for ${file.client_email}`);
  }
  const body = await exchange(
    {
      url: tokenUri,
      form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
      source,
      fix: `the key of ${file.client_email} may have been deleted or disabled: create a new key (gcloud iam service-accounts keys create), or better, use workload identity federation`,
    },
    ctx,
  );
  return oauthGrant(body, source, ctx);
}

async function authorizedUser(file: CredentialFile, source: string, ctx: StepContext): Promise<Grant> {
  need(file, ['client_id', 'client_secret', 'refresh_token'], source);
  const body = await exchange(
    {
      url: file.token_uri ?? GOOGLE_TOKEN_URI,
      form: { grant_type: 'refresh_token', client_id: file.client_id as string, client_secret: file.client_secret as string, refresh_token: file.refresh_token as string },
      source,
      fix: 'log in again (gcloud auth application-default login)',
    },
    ctx,
  );
  return oauthGrant(body, source, ctx);
}

async function externalAccount(file: CredentialFile, source: string, ctx: StepContext): Promise<Grant> {
  need(file, ['audience', 'subject_token_type', 'token_url'], source);
  const subject = await subjectToken(file, source, ctx);
  const sts = await exchange(
    {
      url: file.token_url as string,
      form: {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: file.audience as string,
        scope: CLOUD_PLATFORM,
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token: subject,
        subject_token_type: file.subject_token_type as string,
      },
      source,
      fix: `check that the workload identity pool provider (${file.audience}) trusts this issuer and that its attribute condition admits this repository and branch`,
    },
    ctx,
  );
  const federated = oauthGrant(sts, source, ctx);
  const impersonate = file.service_account_impersonation_url;
  if (!impersonate) return federated;
  return impersonated(federated, impersonate, source, ctx);
}

/** The service account's own token, for a token allowed to impersonate it (IAM Credentials generateAccessToken). */
async function impersonated(grant: Grant, url: string, source: string, ctx: StepContext): Promise<Grant> {
  const sa = decodeURIComponent(/serviceAccounts\/([^:/]+)/.exec(url)?.[1] ?? 'the service account');
  const body = await exchange(
    {
      url,
      json: { scope: [CLOUD_PLATFORM], lifetime: '3600s' },
      headers: { authorization: `Bearer ${grant.token}` },
      source: `${source}, impersonating ${sa}`,
      fix: `grant the caller (the workload identity pool's principal, or your account) roles/iam.serviceAccountTokenCreator or roles/iam.workloadIdentityUser on ${sa}`,
    },
    ctx,
  );
  const token = body.accessToken;
  if (typeof token !== 'string' || token === '') throw new CredentialsError(`${source}: generateAccessToken for ${sa} answered without an accessToken`);
  const expires = typeof body.expireTime === 'string' ? Date.parse(body.expireTime) : Number.NaN;
  // expireTime is wall time; the step's clock may be another (a virtual one in tests): keep the span.
  const span = Number.isNaN(expires) ? 3600_000 : Math.max(0, expires - Date.now());
  return { token, expiresAt: ctx.clock.now() + Math.min(span, 3600_000) };
}

/** The subject token of an external account: from its file, or its URL (GitHub's OIDC endpoint). */
async function subjectToken(file: CredentialFile, source: string, ctx: StepContext): Promise<string> {
  const from = file.credential_source ?? {};
  const format = from.format ?? {};
  let raw: string;
  let where: string;
  if (typeof from.file === 'string') {
    where = `the subject token file ${from.file}`;
    try {
      raw = await readFile(from.file, 'utf8');
    } catch (err) {
      throw new CredentialsError(`${source}: cannot read ${where} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); the step that writes the OIDC token must run first`);
    }
  } else if (typeof from.url === 'string') {
    const url = new URL(from.url);
    where = `the subject token URL on ${url.host}`;
    const request = { url: from.url, method: 'GET' as const, headers: from.headers ?? {}, source, fix: 'in GitHub Actions the job needs `permissions: id-token: write`' };
    const answer = await send(request, ctx);
    if (answer.status < 200 || answer.status >= 300) {
      let body: unknown;
      try {
        body = JSON.parse(answer.text);
      } catch {
        body = undefined;
      }
      throw refused(request, answer.status, body);
    }
    raw = answer.text;
  } else {
    const kind = from.environment_id ? 'an AWS' : from.executable ? 'an executable' : 'this';
    throw new CredentialsError(`${source}: ${kind} credential_source is not one rollgate reads (a file or a url); generate the configuration with --credential-source-file or --credential-source-url`);
  }
  if (format.type === 'json') {
    const field = format.subject_token_field_name ?? 'value';
    let value: unknown;
    try {
      value = (JSON.parse(raw) as Record<string, unknown>)[field];
    } catch {
      value = undefined;
    }
    if (typeof value !== 'string' || value === '') throw new CredentialsError(`${source}: ${where} holds no JSON field ${JSON.stringify(field)} (credential_source.format.subject_token_field_name)`);
    return value;
  }
  const token = raw.trim();
  if (token === '') throw new CredentialsError(`${source}: ${where} is empty`);
  return token;
}
