import { ProviderError } from '../errors.js';
import { restCall, type RestRequest, type RestResponse } from '../cloud/rest.js';
import { callWithRetry } from '../cloud/retrying.js';
import type { ProviderDeps } from '../ports/provider-deps.js';
import type { StepContext } from '../ports/step-context.js';
import { googleCredentials } from './credentials.js';
import { apiBase, settingsOf } from './family.js';
import { CredentialsError } from './oauth.js';

/*
 * One Google API client per provider: the credentials (a token cached per provider), the base URL
 * of each API (the family's `endpoint` for a double), the project and region a config leaves to the
 * `gcp` block. Calls go through cloud/rest.ts (401 refreshes the token once, 429 and 5xx retried
 * with Retry-After); a credential source that fails names the call it failed for.
 */

export interface GcpApi {
  call<T>(request: RestRequest, ctx: StepContext): Promise<RestResponse<T>>;
  base(host: 'run' | 'sqladmin' | 'monitoring'): string;
  project(ctx: StepContext, own?: string): Promise<string>;
  region(own?: string): string;
}

export function gcpApi(deps: ProviderDeps, who: string): GcpApi {
  const settings = settingsOf(deps.settings('gcp'));
  const auth = googleCredentials(who);
  const service = {
    name: who,
    auth,
    headers: (): Record<string, string> => {
      const quota = auth.quotaProject();
      return quota ? { 'x-goog-user-project': quota } : {};
    },
  };
  return {
    async call<T>(request: RestRequest, ctx: StepContext) {
      try {
        // The token first: the quota project header is known once its credential file was read.
        await callWithRetry(() => auth.token(ctx), { service: who, what: request.what, ctx });
        return await restCall<T>(service, request, ctx);
      } catch (err) {
        // The source's message starts with the provider's name; the call goes right after it.
        if (err instanceof CredentialsError) {
          throw new ProviderError(`${who}: cannot ${request.what}: ${err.message.replace(`${who}: `, '')}`, { retryable: err.retryable, cause: err });
        }
        throw err;
      }
    },
    base: (host) => apiBase(settings, host),
    async project(ctx, own) {
      const project = own ?? settings.project ?? (await auth.project(ctx).catch(() => undefined));
      if (!project) {
        throw new ProviderError(`${who}: no Google Cloud project: set \`project\` in the workflow's gcp block (or the provider's own), or GOOGLE_CLOUD_PROJECT in the environment`, { nothingChanged: true });
      }
      return project;
    },
    region(own) {
      const region = own ?? settings.region;
      if (!region) throw new ProviderError(`${who}: no region: set \`region\` in the workflow's gcp block, or on the ${who} provider`, { nothingChanged: true });
      return region;
    },
  };
}

/** A Google long-running operation (`google.longrunning.Operation`). */
export interface Operation {
  name: string;
  done?: boolean;
  error?: { code?: number; message?: string };
  response?: unknown;
}
