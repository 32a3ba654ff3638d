import { join } from 'node:path';
import { access } from 'node:fs/promises';
import type { TokenSource } from '../cloud/rest.js';
import type { StepContext } from '../ports/step-context.js';
import { grantFrom, readCredentialFile } from './credential-files.js';
import { CredentialsError, exchange, type Grant, oauthGrant } from './oauth.js';

/*
 * Google's Application Default Credentials, read from the step's environment (`ctx.env`, not the process's own
 * variables) in the order Google's libraries use:
 * 1. GOOGLE_APPLICATION_CREDENTIALS: a credential file (service account key, workload identity
 *    federation config as google-github-actions/auth writes it, or an authorized user);
 * 2. CLOUDSDK_AUTH_ACCESS_TOKEN: a plain access token, as gcloud accepts it;
 * 3. gcloud's application-default file (CLOUDSDK_CONFIG, else ~/.config/gcloud);
 * 4. the metadata server (GCE_METADATA_HOST, else metadata.google.internal) when rollgate runs on
 *    Google Cloud (a self-hosted runner on GCE, GKE, Cloud Build, Cloud Run jobs).
 * A token is kept until a minute before it expires; `refresh()` (after a 401) forgets it. The
 * source is chosen again at each new token, so a file the login step rewrote is read afresh.
 */

/** A token is renewed this long before its expiry, so none expires in flight. */
const EARLY_MS = 60_000;
/** The metadata server answers at once on Google Cloud; elsewhere its name does not resolve. */
const METADATA_TIMEOUT_MS = 3_000;

export interface GoogleCredentials extends TokenSource {
  /**
   * The project to act in when no setting names one, in the order of Google's ADC: GOOGLE_CLOUD_PROJECT,
   * then GCLOUD_PROJECT (then gcloud's CLOUDSDK_CORE_PROJECT), then the credential file's project_id.
   * Never the quota_project_id: that is the project billed, not one to act in.
   */
  project(ctx: StepContext): Promise<string | undefined>;
  /**
   * The project billed for the calls (x-goog-user-project), as Google's libraries send it: the
   * credential file's quota_project_id, or GOOGLE_CLOUD_QUOTA_PROJECT; known once a token was obtained.
   */
  quotaProject(): string | undefined;
}

/** The standard Google credentials of one provider; `who` names it in messages (`cloud-run`). */
export function googleCredentials(who: string): GoogleCredentials {
  let cached: Grant | undefined;
  let pending: Promise<Grant & { quota?: string | undefined }> | undefined;
  let quota: string | undefined;

  return {
    async token(ctx) {
      if (cached && ctx.clock.now() < cached.expiresAt - EARLY_MS) return cached.token;
      // Held on the clock as a whole: a file read is real I/O, and a virtual clock must not run ahead of it.
      pending ??= hold(ctx, obtain(ctx)).finally(() => {
        pending = undefined;
      });
      try {
        const got = await pending;
        cached = got;
        quota = ctx.env.GOOGLE_CLOUD_QUOTA_PROJECT ?? got.quota;
      } catch (err) {
        if (err instanceof CredentialsError) throw new CredentialsError(`${who}: ${err.message}`, { retryable: err.retryable, cause: err });
        throw err;
      }
      return cached.token;
    },
    refresh() {
      cached = undefined;
    },
    quotaProject: () => quota,
    async project(ctx) {
      const env = ctx.env;
      const named = env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT;
      if (named) return named;
      const path = env.GOOGLE_APPLICATION_CREDENTIALS;
      if (!path) return undefined;
      const file = await hold(ctx, readCredentialFile(path, `GOOGLE_APPLICATION_CREDENTIALS (${path})`).catch(() => undefined));
      return file?.project_id;
    },
  };
}

const NO_CREDENTIALS =
  'no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a service account key or a workload identity federation file (google-github-actions/auth writes one), or CLOUDSDK_AUTH_ACCESS_TOKEN, or run on Google Cloud with a service account attached';

const hold = <T>(ctx: StepContext, work: Promise<T>): Promise<T> => (ctx.clock.hold ? ctx.clock.hold(work) : work);

/** The first standard source that is there, a token from it, and the quota project its file names. */
async function obtain(ctx: StepContext): Promise<Grant & { quota?: string | undefined }> {
  const env = ctx.env;
  const path = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (path) {
    const source = `the credentials in GOOGLE_APPLICATION_CREDENTIALS (${path})`;
    const file = await readCredentialFile(path, source);
    return { ...(await grantFrom(file, source, ctx)), quota: file.quota_project_id };
  }
  const plain = env.CLOUDSDK_AUTH_ACCESS_TOKEN;
  // gcloud does not say when it expires: kept for its usual hour, dropped at once on a 401.
  if (plain) return { token: plain.trim(), expiresAt: ctx.clock.now() + 3600_000 };
  const adc = await gcloudFile(env);
  if (adc) {
    const source = `gcloud's application-default credentials (${adc})`;
    const file = await readCredentialFile(adc, source);
    return { ...(await grantFrom(file, source, ctx)), quota: file.quota_project_id };
  }
  return metadata(ctx);
}

/** gcloud's application-default credentials file, when there is one. */
async function gcloudFile(env: Record<string, string>): Promise<string | undefined> {
  const dir = env.CLOUDSDK_CONFIG ?? (env.APPDATA ? join(env.APPDATA, 'gcloud') : env.HOME ? join(env.HOME, '.config', 'gcloud') : undefined);
  if (!dir) return undefined;
  const file = join(dir, 'application_default_credentials.json');
  return access(file).then(
    () => file,
    () => undefined,
  );
}

/** A token of the attached service account from the metadata server. */
async function metadata(ctx: StepContext): Promise<Grant> {
  // As Google's libraries read it: `none` says this is not Google Cloud, so the server is not asked.
  if (ctx.env.METADATA_SERVER_DETECTION === 'none' && !ctx.env.GCE_METADATA_HOST) throw new CredentialsError(NO_CREDENTIALS);
  const host = ctx.env.GCE_METADATA_HOST ?? 'metadata.google.internal';
  const source = `the metadata server (${host})`;
  try {
    const body = await exchange(
      {
        url: `http://${host}/computeMetadata/v1/instance/service-accounts/default/token`,
        method: 'GET',
        headers: { 'metadata-flavor': 'Google' },
        source,
        fix: 'attach a service account to the machine rollgate runs on',
      },
      ctx,
      METADATA_TIMEOUT_MS,
    );
    return oauthGrant(body, source, ctx);
  } catch (err) {
    if (!(err instanceof CredentialsError) || !err.retryable || ctx.env.GCE_METADATA_HOST) throw err;
    // Not on Google Cloud: no metadata server, and no other source either.
    throw new CredentialsError(`${NO_CREDENTIALS} (the metadata server did not answer)`, { cause: err });
  }
}
