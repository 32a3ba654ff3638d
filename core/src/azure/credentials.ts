import { readFile } from 'node:fs/promises';
import type { TokenSource } from '../cloud/rest.js';
import { ProviderError } from '../errors.js';
import type { StepContext } from '../ports/step-context.js';
import { type AccessToken, SourceUnavailable } from './token-request.js';
import { azureCliToken, clientAssertionToken, clientSecretToken, githubAssertion, managedIdentityToken } from './token-sources.js';
import { type AzureSettings, authorityOf, endpointOf } from './family.js';

/*
 * Credentials for Azure Resource Manager from the runner's standard sources, in the order of the
 * Azure SDKs' DefaultAzureCredential, read from the step's environment (never process.env, never
 * the workflow):
 *   1. environment: AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET (a service principal);
 *   2. workload identity: AZURE_FEDERATED_TOKEN_FILE (+ AZURE_CLIENT_ID, AZURE_TENANT_ID), as AKS
 *      and other federated platforms mount it;
 *   3. GitHub Actions OIDC: ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN (a job with `id-token: write`) with
 *      AZURE_CLIENT_ID and AZURE_TENANT_ID, exchanged as azure/login does (audience
 *      api://AzureADTokenExchange);
 *   4. managed identity: IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service, Container Apps, Functions),
 *      else the instance metadata service (a VM, a VM scale set runner), probed with a short timeout;
 *   5. the Azure CLI's login (`az account get-access-token`), as azure/login leaves it.
 * A source whose variables are set is used, and its failure is the error (it is not skipped: a
 * refused secret must be said, not hidden behind "no credentials"). The token is cached until five
 * minutes before it expires; `refresh()` (after a 401) forgets it.
 */

/** How long before its expiry a token is replaced. */
const MARGIN_MS = 5 * 60_000;
/** How long the metadata service has to answer before rollgate takes it to be absent. */
const IMDS_PROBE_MS = 1000;

/** One credential source: whether its variables are set, and how it gets a token. */
interface Source {
  name: string;
  /** `true`: configured, so its failure is the answer; `'probe'`: tried, and skipped if absent. */
  applies(env: Record<string, string>): boolean | 'probe';
  get(ctx: StepContext): Promise<AccessToken>;
}

export interface AzureTokenSource extends TokenSource {
  /** The source the token came from ("environment (AZURE_CLIENT_SECRET)"), once one was used. */
  readonly source: string | undefined;
}

/** The token source of Azure Resource Manager (scope `<endpoint>/.default`) for these settings. */
export function azureTokenSource(settings: AzureSettings, env?: Record<string, string>): AzureTokenSource {
  const endpoint = endpointOf(settings);
  const scope = `${endpoint}/.default`;
  const resource = `${endpoint}/`;
  const envOf = (ctx: StepContext) => env ?? ctx.env;
  const authority = (ctx: StepContext) => authorityOf(settings, envOf(ctx));
  const tokenUrl = (ctx: StepContext) => `${authority(ctx)}/${encodeURIComponent(envOf(ctx).AZURE_TENANT_ID ?? '')}/oauth2/v2.0/token`;

  const sources: Source[] = [
    {
      name: 'environment (AZURE_CLIENT_SECRET)',
      applies: (e) => Boolean(e.AZURE_TENANT_ID && e.AZURE_CLIENT_ID && e.AZURE_CLIENT_SECRET),
      get: (ctx) => clientSecretToken(tokenUrl(ctx), envOf(ctx), scope, ctx),
    },
    {
      name: 'workload identity (AZURE_FEDERATED_TOKEN_FILE)',
      applies: (e) => Boolean(e.AZURE_FEDERATED_TOKEN_FILE && e.AZURE_CLIENT_ID && e.AZURE_TENANT_ID),
      get: async (ctx) => {
        const e = envOf(ctx);
        const file = e.AZURE_FEDERATED_TOKEN_FILE as string;
        // Read at every exchange (the platform rotates the file), held on the clock: a virtual
        // clock must not run ahead of a disk read.
        const read = readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new ProviderError(`azure: credentials from workload identity: cannot read AZURE_FEDERATED_TOKEN_FILE ${file} (${err.code ?? err.message}); check the service account's federated token volume`);
        });
        const assertion = (await (ctx.clock.hold ? ctx.clock.hold(read) : read)).trim();
        return clientAssertionToken(tokenUrl(ctx), e, assertion, scope, 'workload identity (AZURE_FEDERATED_TOKEN_FILE)', ctx);
      },
    },
    {
      name: 'GitHub Actions OIDC',
      applies: (e) => Boolean(e.ACTIONS_ID_TOKEN_REQUEST_URL && e.ACTIONS_ID_TOKEN_REQUEST_TOKEN && e.AZURE_CLIENT_ID && e.AZURE_TENANT_ID),
      get: async (ctx) => {
        const assertion = await githubAssertion(envOf(ctx), ctx);
        return clientAssertionToken(tokenUrl(ctx), envOf(ctx), assertion, scope, 'GitHub Actions OIDC', ctx);
      },
    },
    {
      name: 'managed identity',
      applies: (e) => (e.IDENTITY_ENDPOINT && e.IDENTITY_HEADER ? true : 'probe'),
      get: (ctx) => managedIdentityToken(envOf(ctx), resource, IMDS_PROBE_MS, ctx),
    },
    {
      name: 'Azure CLI',
      applies: () => 'probe',
      get: (ctx) => azureCliToken(envOf(ctx), resource, ctx),
    },
  ];

  let chosen: Source | undefined;
  let cached: AccessToken | undefined;
  let pending: Promise<AccessToken> | undefined;

  async function acquire(ctx: StepContext): Promise<AccessToken> {
    if (chosen) return chosen.get(ctx);
    const skipped: string[] = [];
    for (const source of sources) {
      const applies = source.applies(envOf(ctx));
      if (applies === false) continue;
      try {
        const token = await source.get(ctx);
        chosen = source;
        return token;
      } catch (err) {
        if (!(err instanceof SourceUnavailable)) throw err;
        skipped.push(err.message);
      }
    }
    throw new ProviderError(
      `azure: no credentials found: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a service principal), or AZURE_CLIENT_ID and AZURE_TENANT_ID in a GitHub Actions job with \`permissions: id-token: write\` (OIDC), or AZURE_FEDERATED_TOKEN_FILE (workload identity), or run where a managed identity is assigned, or log in first (azure/login, \`az login\`). Tried: ${skipped.join('; ')}`,
    );
  }

  return {
    get source() {
      return chosen?.name;
    },
    async token(ctx) {
      if (cached && ctx.clock.now() < cached.expiresAt - MARGIN_MS) return cached.token;
      pending ??= acquire(ctx).finally(() => {
        pending = undefined;
      });
      cached = await pending;
      return cached.token;
    },
    refresh() {
      cached = undefined;
    },
  };
}
