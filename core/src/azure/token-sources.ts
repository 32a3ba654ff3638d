import { ProviderError } from '../errors.js';
import type { StepContext } from '../ports/step-context.js';
import { runCommand } from '../util/command-runner.js';
import { type AccessToken, accessTokenOf, SourceUnavailable, tokenRequest } from './token-request.js';

/*
 * How each standard Azure credential source turns into an access token (see credentials.ts for
 * the order). Requests are the documented ones: Entra ID's client-credentials grant (with a secret
 * or a client assertion), GitHub's OIDC token request, the App Service / Container Apps identity
 * endpoint (api-version 2019-08-01), the instance metadata service (api-version 2018-02-01), and
 * the Azure CLI's `az account get-access-token`.
 */

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const GITHUB_AUDIENCE = 'api://AzureADTokenExchange';
const IMDS_HOST = 'http://169.254.169.254';
const CLI_TIMEOUT_MS = 30_000;

/** A service principal's client secret, at Entra ID's token endpoint. */
export async function clientSecretToken(url: string, env: Record<string, string>, scope: string, ctx: StepContext): Promise<AccessToken> {
  const source = 'environment (AZURE_CLIENT_SECRET)';
  const body = await tokenRequest(
    {
      url,
      source,
      fix: 'check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (an expired client secret is renewed in the app registration, then in the CI secret)',
      form: { grant_type: 'client_credentials', client_id: env.AZURE_CLIENT_ID ?? '', client_secret: env.AZURE_CLIENT_SECRET ?? '', scope },
    },
    ctx,
  );
  return accessTokenOf(body, ctx.clock.now(), source);
}

/** A federated credential: a signed assertion (a Kubernetes service account or GitHub token) exchanged at Entra ID. */
export async function clientAssertionToken(url: string, env: Record<string, string>, assertion: string, scope: string, source: string, ctx: StepContext): Promise<AccessToken> {
  const body = await tokenRequest(
    {
      url,
      source,
      fix: "check AZURE_CLIENT_ID and AZURE_TENANT_ID, and that the app registration (or managed identity) has a federated credential whose issuer, subject and audience match this token (for GitHub: repo:OWNER/REPO:environment:NAME or :ref:refs/heads/BRANCH, audience api://AzureADTokenExchange)",
      form: { grant_type: 'client_credentials', client_id: env.AZURE_CLIENT_ID ?? '', client_assertion: assertion, client_assertion_type: ASSERTION_TYPE, scope },
    },
    ctx,
  );
  return accessTokenOf(body, ctx.clock.now(), source);
}

/** The job's GitHub OIDC token for Entra ID, asked for at every exchange (it lives minutes). */
export async function githubAssertion(env: Record<string, string>, ctx: StepContext): Promise<string> {
  const url = new URL(env.ACTIONS_ID_TOKEN_REQUEST_URL ?? '');
  url.searchParams.set('audience', GITHUB_AUDIENCE);
  const body = await tokenRequest(
    {
      url: url.toString(),
      source: 'GitHub Actions OIDC',
      fix: 'give the job `permissions: id-token: write`',
      headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? ''}` },
    },
    ctx,
  );
  if (typeof body.value !== 'string' || body.value === '') throw new ProviderError('azure: credentials from GitHub Actions OIDC: GitHub answered without a token');
  return body.value;
}

/**
 * A managed identity: the identity endpoint of App Service, Container Apps and Functions when it
 * is set, else the instance metadata service, whose absence (no answer within `probeMs`, or no
 * identity assigned: HTTP 400) makes the source unavailable. AZURE_CLIENT_ID picks a
 * user-assigned identity; AZURE_POD_IDENTITY_AUTHORITY_HOST moves the metadata service, as the
 * Azure SDKs allow.
 */
export async function managedIdentityToken(env: Record<string, string>, resource: string, probeMs: number, ctx: StepContext): Promise<AccessToken> {
  const source = 'managed identity';
  const fix = 'check that a managed identity is assigned to this machine or app (and AZURE_CLIENT_ID, for a user-assigned one)';
  if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER) {
    const url = new URL(env.IDENTITY_ENDPOINT);
    url.searchParams.set('api-version', '2019-08-01');
    url.searchParams.set('resource', resource);
    if (env.AZURE_CLIENT_ID) url.searchParams.set('client_id', env.AZURE_CLIENT_ID);
    const body = await tokenRequest({ url: url.toString(), source: `${source} (IDENTITY_ENDPOINT)`, fix, headers: { 'x-identity-header': env.IDENTITY_HEADER } }, ctx);
    return accessTokenOf(body, ctx.clock.now(), source);
  }
  const url = new URL(`${(env.AZURE_POD_IDENTITY_AUTHORITY_HOST ?? IMDS_HOST).replace(/\/+$/, '')}/metadata/identity/oauth2/token`);
  url.searchParams.set('api-version', '2018-02-01');
  url.searchParams.set('resource', resource);
  if (env.AZURE_CLIENT_ID) url.searchParams.set('client_id', env.AZURE_CLIENT_ID);
  try {
    const body = await tokenRequest({ url: url.toString(), source: `${source} (instance metadata service)`, fix, headers: { metadata: 'true' }, probeMs }, ctx);
    return accessTokenOf(body, ctx.clock.now(), source);
  } catch (err) {
    // A metadata service with no identity assigned answers 400: the source is not set up here.
    if (err instanceof ProviderError && /HTTP (400|404)\b/.test(err.message)) throw new SourceUnavailable(`${source}: the instance metadata service has no identity for this machine`);
    throw err;
  }
}

/** The Azure CLI's login on this runner (azure/login, `az login`); absent when `az` is not installed or not logged in. */
export async function azureCliToken(env: Record<string, string>, resource: string, ctx: StepContext): Promise<AccessToken> {
  const source = 'Azure CLI';
  let result;
  try {
    const run = runCommand(['az', 'account', 'get-access-token', '--resource', resource, '--output', 'json'], {
      name: 'az',
      env,
      timeoutMs: CLI_TIMEOUT_MS,
      signal: ctx.signal,
      mask: ctx.mask,
      track: (pgid) => ctx.trackProcess(pgid, 'az account get-access-token'),
      // Its output is the token: none of it is streamed anywhere.
      outputLimit: 65_536,
    });
    result = await (ctx.clock.hold ? ctx.clock.hold(run) : run);
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw new SourceUnavailable(`${source}: \`az\` cannot be run (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  if (result.cancelled) throw ctx.signal.reason ?? new ProviderError('azure: credentials from the Azure CLI: cancelled');
  if (result.exitCode !== 0) {
    const said = firstErrorLine(result.stderr);
    if (/az login|not logged in|No subscription found|Please run/i.test(said) || said === '') throw new SourceUnavailable(`${source}: not logged in${said ? ` (${said})` : ''}`);
    throw new ProviderError(`azure: credentials from the Azure CLI: \`az account get-access-token\` ${result.reason}${said ? `: ${said}` : ''}; log in again (azure/login, \`az login\`)`, { retryable: result.timedOut });
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    throw new ProviderError('azure: credentials from the Azure CLI: `az account get-access-token` did not print JSON; update the Azure CLI');
  }
  return accessTokenOf(body, ctx.clock.now(), source);
}

/** The CLI's error, without its hints: the first line that says ERROR, else the first line. */
function firstErrorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => l.startsWith('ERROR')) ?? lines[0] ?? '';
  return line.replace(/^ERROR:\s*/, '').slice(0, 240);
}
